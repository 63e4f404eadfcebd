// Inputs that used to be ignored or to crash: stray positional arguments, a
// config "file" that is a directory or a device, and sizes large enough to
// overflow or exhaust memory. Each is refused with exit code 2 and one line
// naming it, before anything is written.

#include <gtest/gtest.h>

#include "cli_testing.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

using CliInputBounds = CliTest;

TEST_F(CliInputBounds, APositionalArgumentIsRefusedNotIgnored) {
  const std::string config = std::string(WEFT_SOURCE_DIR) + "/configs/tiny-gpt.ini";
  expect_refused("train " + config, {"unexpected argument '" + config + "'", "--config FILE"});
  expect_refused("prepare --tokenizer char stray", {"unexpected argument 'stray'"});
  expect_refused("bench extra", {"unexpected argument 'extra'"});
}

TEST_F(CliInputBounds, AConfigThatIsNotARegularFileIsRefused) {
  fs::create_directory(dir_ / "configs");
  expect_refused("train --config configs", {"config file 'configs' is not a regular file"});
  expect_refused("train --config /dev/zero", {"config file '/dev/zero' is not a regular file"});
}

TEST_F(CliInputBounds, AContextThatOverflowsIsRefusedByName) {
  for (const char* positions : {"learned", "sinusoidal"}) {
    // The reproducer: the 2^62 context crashed the heap (learned) or segfaulted (sinusoidal).
    expect_refused("train --config " + std::string(WEFT_SOURCE_DIR) + "/configs/tiny-gpt.ini " +
                       "--model.max_seq_len 4611686018427387904 --train.steps 10 " +
                       "--model.positions " + positions,
                   {"model.max_seq_len is 4611686018427387904, above the largest weft accepts"});
  }
}

TEST_F(CliInputBounds, AModelTooLargeForThisMachineIsRefusedWithItsSize) {
  // 2^16 wide, 1024 layers: 2^45 parameters in its feed-forward layers alone.
  expect_refused("train --data.dataset builtin:numbers-lm --model.preset tiny-gpt "
                 "--model.d_model 65536 --model.n_heads 1 --model.d_ff 65536 --model.n_layers 1024",
                 {"GiB for its weights", "GiB of memory here"});
}

TEST_F(CliInputBounds, ActivationsTooLargeForThisMachineAreRefusedWithTheBatch) {
  // Small weights, but 65536 sequences of 2^20 tokens: about 2^60 bytes of
  // attention probabilities alone.
  expect_refused("train --data.dataset builtin:numbers-lm --model.preset tiny-gpt "
                 "--model.max_seq_len 1048576 --data.batch_size 65536",
                 {"GiB for training (weights, gradients, two AdamW moments and the activations "
                  "of 65536 sequences of 1048576 tokens)",
                  "GiB of memory here", "data.batch_size"});
  // Four simulated ranks share this machine's memory.
  expect_refused("train --data.dataset builtin:numbers-lm --model.preset tiny-gpt "
                 "--model.max_seq_len 1048576 --data.batch_size 65536 "
                 "--parallel.simulate_ranks 4",
                 {"activations of 16384 sequences of 1048576 tokens, for each of 4 simulated ranks"});
}

TEST_F(CliInputBounds, ATornValidationShardIsRefusedBeforeTraining) {
  write_file(dir_ / "corpus.txt", small_corpus());
  ASSERT_EQ(weft("prepare --input corpus.txt --out data/corpus").exit_code, 0);
  // Cut the shard mid-token: its header's count no longer matches its size.
  fs::resize_file(dir_ / "data/corpus/val.bin", fs::file_size(dir_ / "data/corpus/val.bin") - 3);
  // Evaluation is off, yet the closing report reads val: refused at start-up.
  expect_refused("train " + kTinyLm + " --train.steps 5 --train.out runs/torn",
                 {"val.bin: the header says", "it is torn"});
}

TEST_F(CliInputBounds, ATranslationInputLongerThanTheContextIsNamedByLineNumber) {
  ASSERT_EQ(weft("train --model.preset tiny-encoder-decoder --model.max_seq_len 96 "
                 "--data.dataset builtin:numbers "
                 "--data.batch_size 4 --train.steps 1 --optim.warmup 0 --train.eval_every 0 "
                 "--train.sample_every 0 --train.out runs/t")
                .exit_code,
            0);
  const std::string long_line(5000, '7');
  const CommandResult r = weft("translate --checkpoint runs/t --batch 2", "12\n34\n56\n" + long_line + "\n");
  EXPECT_EQ(r.exit_code, 2) << r.output.substr(0, 300);
  EXPECT_NE(r.output.find("input line 4 ('7777777777777777777777777777777777777777...') is 5001 "
                          "tokens with EOS, longer than the model's context of"),
            std::string::npos)
      << r.output.substr(0, 300);
  EXPECT_EQ(r.output.find(std::string(100, '7')), std::string::npos);  // not echoed whole
}

TEST_F(CliInputBounds, EvalRefusesCountsThatMakeNoSense) {
  // Refused before the checkpoint is even read: no run needs to exist.
  expect_refused("eval --checkpoint runs/none --batches -1", {"--batches must be >= 0", "got -1"});
  expect_refused("eval --checkpoint runs/none --beam 0", {"--beam must be >= 1, got 0"});
  expect_refused("eval --checkpoint runs/none --max-extra -5", {"--max-extra must be >= 0"});
  expect_refused("generate --checkpoint runs/none --samples 0", {"--samples must be >= 1, got 0"});
  expect_refused("generate --checkpoint runs/none --seed -3",
                 {"the argument ('-3') for option '--seed' is invalid"});
}

}  // namespace
}  // namespace weft::testing
