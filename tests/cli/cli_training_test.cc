// End to end through the executable: prepare -> train -> eval -> generate on
// a generated corpus; exact resume; SIGTERM; torn checkpoints; NaN loss.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli_testing.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

class CliTraining : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_file(dir_ / "corpus.txt", small_corpus());
    const CommandResult r = weft("prepare --input corpus.txt --out data/corpus");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
};

TEST_F(CliTraining, PrepareTrainEvalGenerate) {
  const CommandResult train =
      weft(std::string("train ") + kTinyLm + " --train.steps 60 --train.out runs/lm");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const std::vector<double> losses = train_losses(dir_ / "runs/lm/metrics.jsonl");
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_LT(losses.back(), losses.front() * 0.7) << "the loss did not fall";
  EXPECT_TRUE(fs::exists(dir_ / "runs/lm/checkpoints/step-00000060/manifest.json"));

  const CommandResult eval = weft("eval --checkpoint runs/lm");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("perplexity"), std::string::npos) << eval.output;

  const CommandResult gen =
      weft("generate --checkpoint runs/lm --prompt 'the ' --max-new-tokens 12 --seed 3");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  EXPECT_EQ(gen.output.rfind("the ", 0), 0u) << gen.output;
  EXPECT_GE(gen.output.size(), 16u) << gen.output;
  // The same seed gives the same text.
  EXPECT_EQ(weft("generate --checkpoint runs/lm --prompt 'the ' --max-new-tokens 12 --seed 3").output,
            gen.output);
}

TEST_F(CliTraining, ResumeContinuesExactly) {
  ASSERT_EQ(weft(std::string("train ") + kTinyLm + " --train.steps 12 --train.out runs/straight")
                .exit_code, 0);
  const CommandResult first = weft(std::string("train ") + kTinyLm +
                                   " --train.steps 12 --train.exit_interval 5 --train.out runs/split");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_TRUE(fs::exists(dir_ / "runs/split/checkpoints/step-00000005"));
  // Without --train.resume the run directory is refused, not overwritten.
  const CommandResult refused =
      weft(std::string("train ") + kTinyLm + " --train.steps 12 --train.out runs/split");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.output.find("train.resume"), std::string::npos) << refused.output;

  const CommandResult second = weft(std::string("train ") + kTinyLm +
                                    " --train.steps 12 --train.resume --train.out runs/split");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const std::vector<double> straight = train_losses(dir_ / "runs/straight/metrics.jsonl");
  const std::vector<double> split = train_losses(dir_ / "runs/split/metrics.jsonl");
  ASSERT_EQ(straight.size(), 12u);
  ASSERT_EQ(split.size(), 12u);
  for (size_t i = 0; i < straight.size(); ++i) EXPECT_EQ(straight[i], split[i]) << "step " << i + 1;
}

TEST_F(CliTraining, SigtermCheckpointsAndExitsZero) {
  const std::string command = std::string("cd '") + dir_.string() + "' && exec " + WEFT_BINARY +
                              " train " + kTinyLm + " --train.steps 100000 --train.out runs/sig" +
                              " > train.log 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for training to be under way, then ask it to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (train_losses(dir_ / "runs/sig/metrics.jsonl").size() < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(dir_ / "train.log");
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(dir_ / "train.log");
  EXPECT_NE(read_file(dir_ / "train.log").find("stop requested"), std::string::npos);
  const size_t steps = train_losses(dir_ / "runs/sig/metrics.jsonl").size();
  char name[32];
  std::snprintf(name, sizeof name, "step-%08zu", steps);
  EXPECT_TRUE(fs::exists(dir_ / "runs/sig/checkpoints" / name / "manifest.json")) << name;
}

TEST_F(CliTraining, CorruptCheckpointIsRefusedByNameAndThePreviousOneServes) {
  ASSERT_EQ(weft(std::string("train ") + kTinyLm +
                 " --train.steps 10 --train.checkpoint_every 5 --train.out runs/c")
                .exit_code, 0);
  const fs::path newest = dir_ / "runs/c/checkpoints/step-00000010";
  const fs::path model = newest / "model.safetensors";
  std::string bytes = read_file(model);
  bytes[bytes.size() / 2] ^= 0x5a;
  write_file(model, bytes);

  const CommandResult direct = weft("eval --checkpoint runs/c/checkpoints/step-00000010");
  EXPECT_EQ(direct.exit_code, 2);
  EXPECT_NE(direct.output.find("model.safetensors"), std::string::npos) << direct.output;

  const CommandResult fallback = weft("eval --checkpoint runs/c");
  EXPECT_EQ(fallback.exit_code, 0) << fallback.output;
  EXPECT_NE(fallback.output.find("step-00000010/model.safetensors"), std::string::npos)
      << fallback.output;
  EXPECT_NE(fallback.output.find("step-00000005"), std::string::npos) << fallback.output;
}

TEST_F(CliTraining, NanLossStopsNamingTheStep) {
  const CommandResult r =
      weft("train " + kTinyModel +
           " --train.steps 200 --optim.lr 1e30 --optim.grad_clip 0 "
           "--train.checkpoint_every 1 --train.out runs/nan");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("last good checkpoint"), std::string::npos) << r.output;
  // The checkpoints written before the bad step still load.
  EXPECT_EQ(weft("eval --checkpoint runs/nan").exit_code, 0);
}

TEST_F(CliTraining, VocabularyMustMatchTheCheckpoint) {
  ASSERT_EQ(weft(std::string("train ") + kTinyLm + " --train.steps 6 --train.out runs/v").exit_code, 0);
  write_file(dir_ / "other.txt", "0123456789 completely different characters!?\n");
  ASSERT_EQ(weft("prepare --input other.txt --out data/other").exit_code, 0);
  const CommandResult r = weft("eval --checkpoint runs/v --data data/other");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("vocabulary"), std::string::npos) << r.output;
}

TEST_F(CliTraining, PromptLongerThanTheContextIsRefused) {
  ASSERT_EQ(weft(std::string("train ") + kTinyLm + " --train.steps 6 --train.out runs/p").exit_code, 0);
  const CommandResult r = weft("generate --checkpoint runs/p --prompt '" + std::string(40, 't') + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("context"), std::string::npos) << r.output;
}

TEST_F(CliTraining, ExportWritesHuggingFaceGpt2Files) {
  ASSERT_EQ(weft("train " + kTinyLm + " --train.steps 6 --train.out runs/e").exit_code, 0);
  const CommandResult r = weft("export --checkpoint runs/e --format hf-gpt2 --out hf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = nlohmann::json::parse(read_file(dir_ / "hf/config.json"));
  EXPECT_EQ(config["n_layer"], 2);
  EXPECT_EQ(config["n_embd"], 16);
  ASSERT_TRUE(fs::exists(dir_ / "hf/model.safetensors"));
  // The run's tables had 128 rows (model.vocab_multiple); the export has the
  // real vocabulary's.
  const SafetensorsFile hf = load_safetensors((dir_ / "hf/model.safetensors").string());
  EXPECT_LT(config["vocab_size"].get<int64_t>(), 128);
  EXPECT_EQ(hf.at("wte.weight").shape(), (Shape{config["vocab_size"].get<int64_t>(), 16}));

  const CommandResult wrong = weft("export --checkpoint runs/e --format onnx --out other");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.output.find("--format"), std::string::npos) << wrong.output;
  EXPECT_FALSE(fs::exists(dir_ / "other"));
}

}  // namespace
}  // namespace weft::testing
