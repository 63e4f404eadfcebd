// weft average end to end: a run's last checkpoints averaged into one that
// eval, generate, export, translate and a resumed run all take; each bad
// input refused with exit 2, one message, and nothing written.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_testing.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

// A tiny GPT trained 12 steps, checkpointed at 4, 8 and 12.
class CliAverage : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_file(dir_ / "corpus.txt", small_corpus());
    ASSERT_EQ(weft("prepare --input corpus.txt --out data/corpus").exit_code, 0);
    const CommandResult r = weft(
        "train " + kTinyLm + " --train.steps 12 --train.checkpoint_every 4 --train.out runs/lm");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  nlohmann::json manifest(const std::string& dir) {
    return nlohmann::json::parse(read_file(dir_ / dir / "manifest.json"));
  }
  // Exit 2, every part in the output, and no output directory or temp twin.
  void expect_refused(const std::string& args, const std::vector<std::string>& parts) {
    const CommandResult r = weft(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    for (const std::string& part : parts) {
      EXPECT_NE(r.output.find(part), std::string::npos) << "'" << part << "' not in: " << r.output;
    }
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      EXPECT_NE(name.rfind("avg", 0), 0u) << args << " left " << name;
    }
  }
};

TEST_F(CliAverage, TheAverageLoadsWhereverACheckpointDoes) {
  const CommandResult r = weft("average --checkpoint runs/lm --last 3 --out avg");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("steps 4, 8, 12 into avg (step 12)"), std::string::npos) << r.output;
  EXPECT_EQ(manifest("avg")["average"]["steps"], nlohmann::json({4, 8, 12}));
  EXPECT_EQ(manifest("avg")["data_state"],
            manifest("runs/lm/checkpoints/step-00000012")["data_state"]);

  const CommandResult eval = weft("eval --checkpoint avg");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("perplexity"), std::string::npos) << eval.output;
  const CommandResult gen = weft("generate --checkpoint avg --prompt 'the ' --max-new-tokens 8");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  EXPECT_EQ(gen.output.rfind("the ", 0), 0u) << gen.output;
  ASSERT_EQ(weft("export --checkpoint avg --out hf").exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "hf/model.safetensors"));

  // Named checkpoints; placed where a run keeps its checkpoints, it resumes.
  const CommandResult named = weft(
      "average --checkpoints runs/lm/checkpoints/step-00000012 "
      "runs/lm/checkpoints/step-00000008 --out runs/avg/checkpoints/step-00000012");
  ASSERT_EQ(named.exit_code, 0) << named.output;
  EXPECT_NE(named.output.find("steps 8, 12 into"), std::string::npos) << named.output;
  const CommandResult resumed =
      weft("train " + kTinyLm + " --train.steps 14 --train.out runs/avg --train.resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from runs/avg/checkpoints/step-00000012 (step 12)"),
            std::string::npos)
      << resumed.output;
  EXPECT_EQ(train_losses(dir_ / "runs/avg/metrics.jsonl").size(), 2u);
}

TEST_F(CliAverage, ATensorParallelRunAveragesAndGenerates) {
  ASSERT_EQ(weft("train " + kTinyLm +
                 " --train.steps 6 --train.checkpoint_every 3 --parallel.simulate_ranks 2 "
                 "--parallel.tp 2 --train.out runs/tp")
                .exit_code,
            0);
  ASSERT_TRUE(fs::exists(dir_ / "runs/tp/checkpoints/step-00000006/model-tp01-of-02.safetensors"));
  const CommandResult r = weft("average --checkpoint runs/tp --last 2 --out avg");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "avg/model-tp01-of-02.safetensors"));
  const CommandResult gen = weft("generate --checkpoint avg --prompt 'the ' --max-new-tokens 8");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
}

// Separate source and target vocabularies: the run keeps the source
// tokenizer beside its checkpoints, the average inside itself.
TEST_F(CliAverage, ATranslationAverageTranslatesFromAnywhere) {
  std::ostringstream src, tgt;
  const char* words[] = {"zero", "one", "two", "three", "four"};
  for (int i = 0; i < 200; ++i) {
    src << i % 5 << " " << (i / 5) % 5 << "\n";
    tgt << words[i % 5] << " " << words[(i / 5) % 5] << "\n";
  }
  write_file(dir_ / "src.txt", src.str());
  write_file(dir_ / "tgt.txt", tgt.str());
  ASSERT_EQ(
      weft("prepare --source src.txt --target tgt.txt --separate-vocab --out data/pairs").exit_code,
      0);
  const CommandResult train = weft(
      "train --model.preset tiny-encoder-decoder --data.dataset data/pairs --data.batch_size 8 "
      "--train.steps 4 --train.checkpoint_every 2 --optim.warmup 1 --train.eval_every 0 "
      "--train.sample_every 0 --train.out runs/t");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  ASSERT_EQ(weft("average --checkpoint runs/t --last 2 --out avg").exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "avg/tokenizer_src"));
  const CommandResult r = weft("translate --checkpoint avg", "1 2\n3 4\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CliAverage, BadInputsAreRefusedAndNothingIsWritten) {
  expect_refused("average --checkpoint runs/lm --last 0 --out avg", {"--last must be >= 1, got 0"});
  expect_refused(
      "average --checkpoint runs/lm --last 4 --out avg",
      {"'runs/lm' holds 3 complete checkpoints, fewer than --last 4", "train.keep_checkpoints"});
  expect_refused("average --checkpoint runs/none --out avg",
                 {"run directory 'runs/none' does not exist"});
  expect_refused("average --checkpoint runs/lm/checkpoints/step-00000008 --out avg",
                 {"is one checkpoint, not a run directory", "--checkpoints"});
  expect_refused("average --checkpoint runs/lm", {"--out is required"});
  expect_refused("average --out avg", {"give either --checkpoint RUN"});
  expect_refused(
      "average --checkpoint runs/lm --checkpoints runs/lm/checkpoints/step-00000008 "
      "--out avg",
      {"not both"});
  expect_refused("average --checkpoints runs/lm/checkpoints/step-00000008 --last 2 --out avg",
                 {"--last counts a run's checkpoints"});
  expect_refused("average --checkpoint runs/lm --last 2 --out runs/lm",
                 {"runs/lm: already exists and is not an empty directory"});

  const fs::path file = dir_ / "runs/lm/checkpoints/step-00000008/model.safetensors";
  std::string bytes = read_file(file);
  bytes[bytes.size() - 5] ^= 0x20;
  write_file(file, bytes);
  expect_refused("average --checkpoint runs/lm --last 2 --out avg",
                 {"runs/lm/checkpoints/step-00000008/model.safetensors: checksum mismatch"});
}

}  // namespace
}  // namespace weft::testing
