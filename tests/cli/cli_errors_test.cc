// Every subcommand's help, and each refusal: exit code 2, one line naming the
// key or file and what is expected, and nothing written.

#include <gtest/gtest.h>

#include "cli_testing.h"
#include "weft/backend/gpu.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

using CliErrors = CliTest;

TEST_F(CliErrors, EveryCommandHasHelpWithDefaults) {
  const CommandResult top = weft("--help");
  EXPECT_EQ(top.exit_code, 0);
  for (const char* cmd :
       {"prepare", "train", "eval", "generate", "translate", "export", "average", "bench"}) {
    EXPECT_NE(top.output.find(cmd), std::string::npos) << cmd;
    const CommandResult r = weft(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("(="), std::string::npos) << cmd << " shows no defaults:\n" << r.output;
  }
  const CommandResult train = weft("train --help");
  for (const char* key : {"train.steps", "optim.lr", "data.dataset", "model.preset", "log.progress",
                          "parallel.tp"}) {
    EXPECT_NE(train.output.find(key), std::string::npos) << key;
  }
}

TEST_F(CliErrors, UnknownCommand) {
  const CommandResult r = weft("trian");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command 'trian'"), std::string::npos) << r.output;
}

TEST_F(CliErrors, UnknownKeyOnTheCommandLine) {
  expect_refused("train --train.stepz 5", {"train.stepz"});
}

TEST_F(CliErrors, ValueOfTheWrongType) {
  expect_refused("train --train.steps many", {"train.steps", "many"});
  expect_refused("train --optim.lr fast", {"optim.lr"});
}

TEST_F(CliErrors, UnknownKeyInAConfigFile) {
  write_file(dir_ / "bad.ini", "[train]\nsteps = 10\nlearning_rate = 3\n");
  expect_refused("train --config bad.ini", {"bad.ini", "train.learning_rate"});
}

TEST_F(CliErrors, WrongTypeInAConfigFile) {
  write_file(dir_ / "bad.ini", "[optim]\nlr = quick\n");
  expect_refused("train --config bad.ini", {"bad.ini", "optim.lr"});
}

TEST_F(CliErrors, MissingFiles) {
  expect_refused("train --config missing.ini", {"missing.ini"});
  expect_refused("train --data.dataset nowhere", {"nowhere"});
  expect_refused("eval --checkpoint runs/none", {"runs/none"});
  expect_refused("prepare --input absent.txt --out data/x", {"absent.txt"});
  EXPECT_FALSE(fs::exists(dir_ / "data" / "x"));
}

TEST_F(CliErrors, BadValues) {
  expect_refused("train --optim.schedule linear", {"optim.schedule", "linear"});
  expect_refused("train --data.batch_size 10 --train.grad_accum 3",
                 {"data.batch_size", "train.grad_accum"});
  expect_refused("train --model.n_heads 3", {"model.n_heads", "model.d_model"});
  expect_refused("train --parallel.tp 2", {"parallel.tp"});
  expect_refused("train --model.preset gpt5", {"gpt5"});
}

// Devices and precisions that cannot run are refused before the run
// directory is written. (Where a GPU is present cuda is not refused; the
// `gpu` suite trains on it instead.)
TEST_F(CliErrors, DeviceAndPrecision) {
  expect_refused("train --train.device gpu", {"train.device", "gpu"});
  expect_refused("train --train.precision fp8", {"train.precision", "fp8"});
  expect_refused("train --train.gpu_memory_fraction 1.5", {"train.gpu_memory_fraction"});
  if (!gpu::available()) expect_refused("train --train.device cuda", {"train.device", "cuda"});
  expect_refused("train --train.device cuda --parallel.simulate_ranks 2",
                 {"parallel.simulate_ranks", "cpu"});
}

TEST_F(CliErrors, ModelFamilyMustFitTheData) {
  expect_refused("train --model.preset tiny-gpt --data.dataset builtin:numbers",
                 {"translation", "encoder-decoder"});
}

TEST_F(CliErrors, SequenceLongerThanTheContext) {
  expect_refused("train --model.preset tiny-gpt --data.dataset builtin:numbers-lm --data.seq_len 64",
                 {"data.seq_len", "model.max_seq_len"});
}

TEST_F(CliErrors, TranslationFilesWithDifferentLineCounts) {
  write_file(dir_ / "src.txt", "one\ntwo\nthree\n");
  write_file(dir_ / "tgt.txt", "eins\nzwei\n");
  const CommandResult r = weft("prepare --source src.txt --target tgt.txt --out data/pairs");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("src.txt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tgt.txt"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "data" / "pairs" / "meta.json"));
}

TEST_F(CliErrors, MlmSpecialsOnlyForALanguageModelCorpus) {
  write_file(dir_ / "src.txt", "one\ntwo\n");
  write_file(dir_ / "tgt.txt", "eins\nzwei\n");
  expect_refused("prepare --source src.txt --target tgt.txt --mlm-specials --out data/pairs",
                 {"--mlm-specials", "translation"});
  expect_refused("prepare --builtin numbers-lm --mlm-specials --out data/numbers",
                 {"--mlm-specials", "--builtin"});
  EXPECT_FALSE(fs::exists(dir_ / "data"));
}

}  // namespace
}  // namespace weft::testing
