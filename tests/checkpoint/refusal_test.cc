// Bad checkpoints are refused by name and never taken for good ones: a
// truncated file, a flipped byte, a missing manifest (torn write), a foreign
// manifest, and tensors that do not fit the model. latest_checkpoint falls
// back to the newest checkpoint that verifies and says what it skipped.

#include <gtest/gtest.h>

#include <cstdint>

#include <filesystem>

#include "checkpoint_testing.h"
#include "weft/model/factory.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;

// Checkpoints of steps 1, 2 and 3 of one tiny GPT.
class CheckpointRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    trained_ = testing::trained_model(model_preset("tiny-gpt"), 3);
    for (int64_t step = 1; step <= 3; ++step) {
      CheckpointState s;
      s.step = step;
      save_checkpoint(run_.path(), *trained_.model, *trained_.optimizer, s);
    }
  }
  std::string dir(int64_t step) const {
    return run_ / ("checkpoints/" + checkpoint_dir_name(step));
  }
  std::string file(int64_t step, const std::string& name) const { return dir(step) + "/" + name; }

  // latest_checkpoint skips step 3 with `reason` and returns step 2.
  void expect_fallback_past_step_3(const std::string& reason) {
    std::vector<std::string> refused;
    const Checkpoint c = latest_checkpoint(run_.path(), &refused);
    EXPECT_EQ(c.step, 2);
    EXPECT_EQ(c.dir, dir(2));
    EXPECT_EQ(refused, std::vector<std::string>{reason});
  }

  testing::ScratchDir run_;
  testing::TrainedModel trained_;
};

TEST_F(CheckpointRefusal, LatestIsTheNewestWhenAllVerify) {
  std::vector<std::string> refused = {"stale"};
  EXPECT_EQ(latest_checkpoint(run_.path(), &refused).step, 3);
  EXPECT_TRUE(refused.empty());
}

TEST_F(CheckpointRefusal, TruncatedModelFile) {
  const std::string path = file(3, "model.safetensors");
  const uintmax_t size = fs::file_size(path);
  fs::resize_file(path, size - 100);
  const std::string reason = path + ": " + std::to_string(size - 100) +
                             " bytes, the manifest records " + std::to_string(size) +
                             " (truncated or overwritten)";
  EXPECT_EQ(error_of([&] { load_checkpoint(dir(3)); }), reason);
  expect_fallback_past_step_3(reason);
}

TEST_F(CheckpointRefusal, FlippedByte) {
  const std::string path = file(3, "optimizer.safetensors");
  std::string bytes = testing::read_text(path);
  bytes[bytes.size() / 2] ^= 0x10;
  testing::write_text(path, bytes);
  const std::string reason = error_of([&] { load_checkpoint(dir(3)); });
  EXPECT_EQ(reason.rfind(path + ": checksum mismatch (CRC-32C ", 0), 0u) << reason;
  expect_fallback_past_step_3(reason);
}

TEST_F(CheckpointRefusal, MissingManifestIsAnIncompleteWrite) {
  fs::remove(file(3, "manifest.json"));
  EXPECT_EQ(list_checkpoints(run_.path()), (std::vector<std::string>{dir(2), dir(1)}));
  const std::string reason = dir(3) + ": no manifest (incomplete write)";
  EXPECT_EQ(error_of([&] { load_checkpoint(dir(3)); }), reason);
  expect_fallback_past_step_3(reason);
}

TEST_F(CheckpointRefusal, ADirectoryNamedForAnotherStepThanItsManifest) {
  // A copy of step 1 renamed step 99 would otherwise be every resume's start.
  const std::string copy = run_ / ("checkpoints/" + checkpoint_dir_name(99));
  fs::copy(dir(1), copy);
  const std::string reason = error_of([&] { load_checkpoint(copy); });
  EXPECT_NE(reason.find(copy), std::string::npos) << reason;
  EXPECT_NE(reason.find("the directory is named for step 99 but its manifest holds step 1"),
            std::string::npos)
      << reason;
  std::vector<std::string> refused;
  EXPECT_EQ(latest_checkpoint(run_.path(), &refused).step, 3);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0], reason);
  // With a trailing slash the name is still the directory's.
  EXPECT_NE(error_of([&] { load_checkpoint(copy + "/"); }).find("named for step 99"),
            std::string::npos);
}

TEST_F(CheckpointRefusal, TempDirectoryOfAnInterruptedSave) {
  const std::string temp = run_ / "checkpoints/step-00000004.tmp-Ab12Cd";
  fs::create_directory(temp);
  fs::copy_file(file(3, "model.safetensors"), temp + "/model.safetensors");
  std::vector<std::string> refused;
  EXPECT_EQ(latest_checkpoint(run_.path(), &refused).step, 3);
  EXPECT_EQ(refused, std::vector<std::string>{temp + ": no manifest (incomplete write: temp "
                                                     "directory of an interrupted save)"});
  EXPECT_EQ(list_checkpoints(run_.path()).size(), 3u);
  // The next successful save clears it away.
  CheckpointState s;
  s.step = 5;
  save_checkpoint(run_.path(), *trained_.model, *trained_.optimizer, s);
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(CheckpointRefusal, ForeignManifests) {
  const std::string path = file(3, "manifest.json");
  json manifest = json::parse(testing::read_text(path));
  auto refusal_of = [&](const std::string& text) {
    testing::write_text(path, text);
    return error_of([&] { load_checkpoint(dir(3)); });
  };
  EXPECT_EQ(refusal_of(R"({"format": "pytorch-lightning", "version": 1})"),
            path +
                ": not a weft checkpoint manifest (format \"pytorch-lightning\", expected "
                "\"weft-checkpoint\")");
  EXPECT_EQ(refusal_of("[1, 2]"), path + ": not a weft checkpoint manifest (not a JSON object)");
  EXPECT_EQ(
      refusal_of("{}"),
      path + ": not a weft checkpoint manifest (format missing, expected \"weft-checkpoint\")");
  EXPECT_EQ(
      refusal_of("PK\x03\x04").rfind(path + ": not a weft checkpoint manifest (not valid JSON", 0),
      0u);

  json v2 = manifest;
  v2["version"] = 2;
  EXPECT_EQ(refusal_of(v2.dump()),
            path + ": checkpoint version 2 is not supported (this build reads version 1)");
  json no_step = manifest;
  no_step.erase("step");
  EXPECT_EQ(refusal_of(no_step.dump()), path + ": no key 'step'");
  json bad_config = manifest;
  bad_config["model_config"]["norm"] = "sandwich";
  EXPECT_EQ(refusal_of(bad_config.dump()),
            path +
                ": model_config: model config: key 'norm' must be \"pre\" or \"post\", got "
                "\"sandwich\"");
  json escaping = manifest;
  escaping["files"]["../../secret"] = {{"bytes", 1}, {"crc32c", "00000000"}};
  EXPECT_EQ(refusal_of(escaping.dump()),
            path + ": 'files' names '../../secret', outside the checkpoint");
  json huge = manifest;
  huge["files"]["model.safetensors"]["bytes"] = UINT64_MAX;
  EXPECT_EQ(refusal_of(huge.dump()),
            path + ": 'files.model.safetensors.bytes' is 18446744073709551615, above the largest "
                   "integer a checkpoint holds (2^63 - 1)");
  json negative = manifest;
  negative["files"]["model.safetensors"]["bytes"] = -1;
  EXPECT_EQ(refusal_of(negative.dump()), path + ": 'files.model.safetensors.bytes' is negative");
  json unlisted = manifest;
  unlisted["files"].erase("optimizer.safetensors");
  EXPECT_EQ(refusal_of(unlisted.dump()), path + ": 'files' does not list optimizer.safetensors");
  json split = manifest;
  split["parameters"]["decoder.embed_tokens.weight"]["shard_dim"] = 2;
  EXPECT_EQ(refusal_of(split.dump()),
            path +
                ": 'parameters.decoder.embed_tokens.weight.shard_dim' 2 does not split [32, "
                "16] into tp = 1 shards");
  json sharded = manifest;
  sharded["layout"]["tp"] = 2;
  const std::string too_few_shards =
      path + ": 'shards' must list layout.tp = 2 shards, got " + manifest["shards"].dump();
  EXPECT_EQ(refusal_of(sharded.dump()), too_few_shards);

  // The last foreign manifest is still in place: latest falls back past it.
  expect_fallback_past_step_3(too_few_shards);
}

TEST_F(CheckpointRefusal, NoUsableCheckpointNamesTheRunDirectory) {
  for (int64_t step = 1; step <= 3; ++step) fs::remove(file(step, "manifest.json"));
  std::vector<std::string> refused;
  const std::string error = error_of([&] { latest_checkpoint(run_.path(), &refused); });
  EXPECT_EQ(error.rfind("run directory '" + run_.path() + "': no usable checkpoint in " +
                            run_ / "checkpoints",
                        0),
            0u)
      << error;
  EXPECT_EQ(refused.size(), 3u);
  testing::ScratchDir empty;
  EXPECT_EQ(
      error_of([&] { latest_checkpoint(empty.path()); }),
      "run directory '" + empty.path() + "': no usable checkpoint in " + empty / "checkpoints");
  EXPECT_TRUE(list_checkpoints(empty.path()).empty());
}

TEST_F(CheckpointRefusal, TensorsThatDoNotFitTheModelAreRefusedByName) {
  const Checkpoint c = load_checkpoint(dir(3));
  const std::string model_file = " (" + c.shards[0].model_path + ")";
  const std::string optimizer_file = " (" + c.shards[0].optimizer_path + ")";

  ModelConfig bigger = model_preset("tiny-gpt");
  bigger.vocab_size = 40;
  testing::TrainedModel other = testing::trained_model(bigger, 5);
  const Tensor before = other.model->parameters()[1]->value.clone();
  EXPECT_EQ(error_of([&] { restore_model(*other.model, c); }),
            "model.safetensors: decoder.embed_tokens.weight has shape [32, 16], the model expects "
            "[40, 16]" +
                model_file);
  EXPECT_EQ(error_of([&] { restore_optimizer(*other.optimizer, c); }),
            "optimizer.safetensors: decoder.embed_tokens.weight.exp_avg has shape [32, 16], the "
            "optimizer expects [40, 16]" +
                optimizer_file);
  // Refused before anything was copied.
  EXPECT_TRUE(testing::same_bytes(other.model->parameters()[1]->value, before));
  EXPECT_EQ(other.optimizer->step_count(), 2);

  ModelConfig untied = model_preset("tiny-gpt");
  untied.tie_embeddings = false;
  testing::TrainedModel extra = testing::trained_model(untied, 5);
  EXPECT_EQ(error_of([&] { restore_model(*extra.model, c); }),
            "model.safetensors: has no tensor lm_head.weight, which the model needs" + model_file);
  const Checkpoint untied_checkpoint = [&] {
    CheckpointState s;
    s.step = 9;
    return load_checkpoint(save_checkpoint(run_ / "untied", *extra.model, *extra.optimizer, s));
  }();
  EXPECT_EQ(error_of([&] { restore_model(*trained_.model, untied_checkpoint); }),
            "model.safetensors: holds lm_head.weight, which the model does not have (" +
                untied_checkpoint.shards[0].model_path + ")");

  LayerContext f64;
  f64.dtype = DType::F64;
  auto wide = make_model(model_preset("tiny-gpt"), f64);
  EXPECT_EQ(
      error_of([&] { restore_model(*wide, c); }),
      "model.safetensors: decoder.embed_tokens.weight is F32, the model expects F64" + model_file);
}

}  // namespace
}  // namespace weft
