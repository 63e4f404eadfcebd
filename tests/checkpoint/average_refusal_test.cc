// What average_checkpoints refuses, by name, before it writes anything:
// checkpoints of another model, layout or tokenizer, a corrupt file, the
// same checkpoint twice, an output directory that holds something or is
// named for another step. A failure while writing leaves no directory.

#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint/checkpoint_internal.h"
#include "checkpoint_testing.h"
#include "layout_runs.h"
#include "support/parallel_layouts.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/model/factory.h"
#include "weft/tensor/safetensors.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::ScratchDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Saves `config` at `step` into run directory `run`, with `vocab` as its tokenizer.
std::string save_at(const std::string& run, const ModelConfig& config, int64_t step,
                    const std::string& vocab = "a\nb\n") {
  const std::string tok = run + "/tok-" + std::to_string(step);
  fs::create_directories(tok);
  testing::write_text(tok + "/vocab.txt", vocab);
  testing::TrainedModel t = testing::trained_model(config, static_cast<uint64_t>(step), 1);
  CheckpointState state;
  state.step = step;
  state.tokenizer_dir = tok;
  return save_checkpoint(run, *t.model, *t.optimizer, state);
}

class AverageRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    one_ = save_at(run_.path(), model_preset("tiny-gpt"), 1);
    two_ = save_at(run_.path(), model_preset("tiny-gpt"), 2);
  }
  // Refused with every part in its message, and nothing left in out_.
  void expect_refused(const std::vector<std::string>& dirs, const std::string& to,
                      const std::vector<std::string>& parts) {
    const std::string message = error_of([&] { average_checkpoints(dirs, to); });
    for (const std::string& part : parts) EXPECT_TRUE(contains(message, part)) << message;
    EXPECT_TRUE(fs::is_empty(out_.path())) << message;
  }
  ScratchDir run_, out_;
  std::string one_, two_;
};

TEST_F(AverageRefusal, AnotherModelConfigIsRefusedNamingTheKey) {
  ModelConfig other = model_preset("tiny-gpt");
  other.dropout = 0.25;
  const std::string three = save_at(run_.path(), other, 3);
  expect_refused({one_, three}, out_ / "avg",
                 {"checkpoint " + one_, "the newest, " + three, "model config differs", "dropout"});
}

TEST_F(AverageRefusal, AnotherTokenizerIsRefused) {
  const std::string three = save_at(run_.path(), model_preset("tiny-gpt"), 3, "a\nz\n");
  expect_refused({one_, two_, three}, out_ / "avg", {one_, "tokenizer differs", "vocab.txt"});
}

TEST_F(AverageRefusal, AnotherTensorParallelSizeIsRefused) {
  const ModelConfig config = testing::tiny_config("gpt");
  ScratchDir other;
  const std::string tp1 = save_at(other.path(), config, 1);
  testing::on_ranks({1, 2}, [&](const ProcessGroups& groups) {
    testing::RankModel r(config, groups, 7);
    CheckpointState state;
    state.step = 2;
    save_checkpoint(other.path(), *r.model, *r.optimizer, state, 0, groups);
  });
  // The tokenizers differ too (the tp 2 checkpoint has none): the layout is named first.
  expect_refused({tp1, other / "checkpoints/step-00000002"}, out_ / "avg",
                 {tp1, "tensor-parallel size 1, the newest over 2"});
}

TEST_F(AverageRefusal, ACorruptCheckpointIsRefusedNamingTheFile) {
  const std::string file = one_ + "/model.safetensors";
  std::string bytes = testing::read_text(file);
  bytes[bytes.size() - 3] ^= 0x10;
  testing::write_text(file, bytes);
  expect_refused({one_, two_}, out_ / "avg", {file, "checksum mismatch"});
}

TEST_F(AverageRefusal, TheSameCheckpointTwiceIsRefused) {
  expect_refused({two_, one_, two_ + "/"}, out_ / "avg", {"named twice"});
}

TEST_F(AverageRefusal, AnOutputDirectoryThatHoldsAnythingIsNeverOverwritten) {
  fs::create_directory(out_ / "avg");
  testing::write_text(out_ / "avg/notes.txt", "mine");
  const std::string message = error_of([&] { average_checkpoints({one_, two_}, out_ / "avg"); });
  EXPECT_TRUE(contains(message, out_ / "avg")) << message;
  EXPECT_TRUE(contains(message, "not an empty directory")) << message;
  EXPECT_EQ(testing::read_text(out_ / "avg/notes.txt"), "mine");
  EXPECT_EQ(fs::directory_iterator(out_.path())->path(), fs::path(out_ / "avg"));
  fs::remove_all(out_ / "avg");

  // An existing checkpoint is a directory that holds something.
  expect_refused({one_}, two_, {two_, "not an empty directory"});
  EXPECT_NO_THROW(load_checkpoint(two_));
  // An empty one is taken.
  fs::create_directory(out_ / "empty");
  EXPECT_EQ(average_checkpoints({one_, two_}, out_ / "empty").step, 2);
}

TEST_F(AverageRefusal, AnOutputNamedForAnotherStepIsRefused) {
  expect_refused({one_, two_}, out_ / "step-00000001", {"named for step 1", "step 2"});
}

// A model file that verifies against its manifest but lacks a tensor fails
// the average midway: the temp directory, and the parents it made, go.
TEST_F(AverageRefusal, AFailureWhileWritingLeavesNoDirectory) {
  const std::string file = one_ + "/model.safetensors";
  SafetensorsFile model = load_safetensors(file);
  model.tensors.pop_back();
  save_safetensors(file, model.tensors, model.metadata);
  nlohmann::json manifest = nlohmann::json::parse(testing::read_text(one_ + "/manifest.json"));
  const checkpoint::FileDigest d = checkpoint::digest_file(file);
  manifest["files"]["model.safetensors"] = {{"bytes", d.bytes},
                                            {"crc32c", checkpoint::crc_hex(d.crc)}};
  testing::write_text(one_ + "/manifest.json", manifest.dump(2));

  expect_refused({one_, two_}, out_ / "a/b/avg",
                 {file, ": holds " + std::to_string(model.tensors.size()) + " tensors"});
}

}  // namespace
}  // namespace weft
