// Saving and loading: the layout of a checkpoint directory, a bit-identical
// round trip of parameters and optimizer moments, and keep_last rotation.

#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint_testing.h"
#include "weft/model/factory.h"
#include "weft/model/config_json.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;
using testing::ScratchDir;

CheckpointState state_at(int64_t step) {
  CheckpointState s;
  s.step = step;
  s.seed = 1234;
  s.run_config = {{"lr", 3e-4}, {"preset", "tiny-gpt"}, {"batch_size", 4}};
  s.data_state = {{"epoch", 1}, {"position", 17 + step}, {"order_seed", uint64_t{1} << 63}};
  return s;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Checkpoint, RoundTripIsBitIdentical) {
  for (const char* preset : {"tiny-gpt", "tiny-encoder-decoder"}) {
    SCOPED_TRACE(preset);
    ScratchDir run;
    fs::create_directory(run / "tok");
    testing::write_text(run / "tok/vocab.txt", "a\nb\nc\n");
    testing::write_text(run / "tok/merges.txt", "a b\n");
    ModelConfig config = model_preset(preset);
    config.dropout = 0.1;
    testing::TrainedModel saved = testing::trained_model(config, 7, 3);
    CheckpointState state = state_at(3);
    state.tokenizer_dir = run / "tok";

    const std::string path = save_checkpoint(run.path(), *saved.model, *saved.optimizer, state);
    EXPECT_EQ(path, run / "checkpoints/step-00000003");
    EXPECT_EQ(names_in(run / "checkpoints"), std::vector<std::string>{"step-00000003"});
    EXPECT_EQ(names_in(path), (std::vector<std::string>{"manifest.json", "model.safetensors",
                                                        "optimizer.safetensors", "tokenizer"}));
    EXPECT_EQ(list_checkpoints(run.path()), std::vector<std::string>{path});

    const Checkpoint c = load_checkpoint(path);
    EXPECT_EQ(c.dir, path);
    EXPECT_EQ(c.step, 3);
    EXPECT_EQ(c.optimizer_step_count, 3);
    EXPECT_EQ(c.seed, 1234u);
    EXPECT_EQ(c.run_config, state.run_config);
    EXPECT_EQ(c.data_state, state.data_state);
    EXPECT_EQ(to_json(c.model_config), to_json(config));
    EXPECT_EQ(c.tokenizer_files, (std::vector<std::string>{"merges.txt", "vocab.txt"}));
    EXPECT_EQ(testing::read_text(c.tokenizer_dir + "/vocab.txt"), "a\nb\nc\n");

    const json& m = c.manifest;
    EXPECT_EQ(m["format"], "weft-checkpoint");
    EXPECT_EQ(m["version"], 1);
    EXPECT_EQ(m["layout"], json({{"tp", 1}, {"dp", 1}}));
    EXPECT_EQ(m["shards"], json::parse(R"([{"model": "model.safetensors",
                                             "optimizer": "optimizer.safetensors"}])"));
    EXPECT_EQ(c.tp, 1);
    ASSERT_EQ(c.shards.size(), 1u);
    EXPECT_EQ(c.shards[0].model_path, path + "/model.safetensors");
    EXPECT_EQ(c.shards[0].optimizer_path, path + "/optimizer.safetensors");
    EXPECT_EQ(m["tokenizer"], json({"merges.txt", "vocab.txt"}));
    EXPECT_EQ(m["files"].size(), 4u);
    EXPECT_EQ(m["files"]["model.safetensors"]["bytes"], fs::file_size(c.shards[0].model_path));
    EXPECT_TRUE(m["files"].contains("tokenizer/merges.txt"));
    EXPECT_EQ(m["parameters"]["decoder.embed_tokens.weight"],
              json({{"dtype", "F32"}, {"full_shape", {32, 16}}, {"shard_dim", -1}}));
    EXPECT_EQ(m["parameters"].size(), saved.model->parameters().size());

    // Restore into a model and optimizer that start elsewhere.
    testing::TrainedModel loaded = testing::trained_model(c.model_config, 99, 1);
    restore_model(*loaded.model, c);
    restore_optimizer(*loaded.optimizer, c);
    EXPECT_EQ(loaded.optimizer->step_count(), 3);
    const std::vector<Parameter*> a = saved.model->parameters(), b = loaded.model->parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(testing::same_bytes(a[i]->value, b[i]->value)) << a[i]->name;
    const std::vector<NamedTensor> sa = saved.optimizer->state_tensors(),
                                   sb = loaded.optimizer->state_tensors();
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
      EXPECT_TRUE(testing::same_bytes(*sa[i].tensor, *sb[i].tensor)) << sa[i].name;
    }
  }
}

TEST(Checkpoint, KeepLastDeletesOnlyOlderCheckpoints) {
  ScratchDir run;
  testing::TrainedModel t = testing::trained_model(model_preset("tiny-gpt"), 1);
  auto dir = [&](int64_t step) { return run / ("checkpoints/" + checkpoint_dir_name(step)); };
  for (int64_t step = 1; step <= 5; ++step)
    save_checkpoint(run.path(), *t.model, *t.optimizer, state_at(step));
  EXPECT_EQ(list_checkpoints(run.path()).size(), 5u);  // keep_last 0 keeps everything

  save_checkpoint(run.path(), *t.model, *t.optimizer, state_at(6), 3);
  EXPECT_EQ(list_checkpoints(run.path()), (std::vector<std::string>{dir(6), dir(5), dir(4)}));

  // A run resumed from step 4 saves step 5 again: the old step 5 is replaced,
  // step 6 (of the abandoned continuation) is not the writer's to delete, and
  // keep_last counts back from the checkpoint just written.
  CheckpointState again = state_at(5);
  again.data_state["marker"] = "second";
  save_checkpoint(run.path(), *t.model, *t.optimizer, again, 1);
  EXPECT_EQ(list_checkpoints(run.path()), (std::vector<std::string>{dir(6), dir(5)}));
  EXPECT_EQ(load_checkpoint(dir(5)).data_state["marker"], "second");
  EXPECT_EQ(names_in(run / "checkpoints"),
            (std::vector<std::string>{"step-00000005", "step-00000006"}));
}

TEST(Checkpoint, AFailedSaveDeletesNothingAndLeavesNoTempDirectory) {
  ScratchDir run;
  testing::TrainedModel t = testing::trained_model(model_preset("tiny-gpt"), 1);
  save_checkpoint(run.path(), *t.model, *t.optimizer, state_at(1));
  save_checkpoint(run.path(), *t.model, *t.optimizer, state_at(2));

  CheckpointState no_tokenizer = state_at(3);
  no_tokenizer.tokenizer_dir = run / "absent";
  EXPECT_EQ(error_of([&] { save_checkpoint(run.path(), *t.model, *t.optimizer, no_tokenizer, 1); }),
            "save_checkpoint: tokenizer directory '" + run / "absent" + "' does not exist");
  CheckpointState bad_json = state_at(3);
  bad_json.run_config["name"] = "\xff\xfe";  // not UTF-8
  EXPECT_NE(error_of([&] {
              save_checkpoint(run.path(), *t.model, *t.optimizer, bad_json, 1);
            }).find("save_checkpoint: run_config cannot be written as JSON"),
            std::string::npos);
  EXPECT_EQ(names_in(run / "checkpoints"),
            (std::vector<std::string>{"step-00000001", "step-00000002"}));
}

TEST(Checkpoint, ASavedConfigBuildsTheSameModel) {
  ScratchDir run;
  ModelConfig config = model_preset("tiny-encoder-decoder");
  config.tie_embeddings = false, config.source_vocab_size = 20, config.pad_id = 0;
  testing::TrainedModel t = testing::trained_model(config, 4);
  const Checkpoint c =
      load_checkpoint(save_checkpoint(run.path(), *t.model, *t.optimizer, state_at(2)));
  auto rebuilt = make_model(c.model_config);
  restore_model(*rebuilt, c);
  EXPECT_EQ(rebuilt->parameters().size(), t.model->parameters().size());
  EXPECT_EQ(c.tokenizer_dir, "");
  EXPECT_TRUE(c.tokenizer_files.empty());
}

}  // namespace
}  // namespace weft
