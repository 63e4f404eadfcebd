// Checkpoint averaging: the average's parameters are the element-wise mean
// (in double, stored in the saved dtype), its other state is the newest's,
// one checkpoint is reproduced bit for bit, a bf16 run averages its f32
// masters, and a tensor-parallel run averages shard by shard and loads under
// any layout.

#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint_testing.h"
#include "layout_runs.h"
#include "support/parallel_layouts.h"
#include "support/training_runs.h"
#include "weft/backend/elementwise.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/model/factory.h"
#include "weft/tensor/safetensors.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ScratchDir;

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The mean of each parameter over `models` (by parameter index), computed
// in double and rounded to f32, as the average stores an f32 run.
std::vector<std::vector<float>> f32_means(
    const std::vector<std::vector<std::vector<double>>>& values) {
  std::vector<std::vector<float>> out(values.front().size());
  for (size_t p = 0; p < out.size(); ++p) {
    for (size_t i = 0; i < values.front()[p].size(); ++i) {
      double sum = 0;
      for (const auto& model : values) sum += model[p][i];
      out[p].push_back(static_cast<float>(sum / static_cast<double>(values.size())));
    }
  }
  return out;
}

std::vector<std::vector<double>> values_of(Model& model) {
  std::vector<std::vector<double>> out;
  for (const Parameter* p : model.parameters()) out.push_back(p->value.to_double_vector());
  return out;
}

// A run directory with a tiny model saved at each of `steps`, each step's
// weights and moments trained from its own seed, so every value differs.
struct SavedRun {
  ScratchDir run;
  ModelConfig config;
  std::vector<std::vector<std::vector<double>>> values;  // by step, by parameter
  std::vector<testing::TrainedModel> models;
  std::vector<std::string> dirs;

  SavedRun(const ModelConfig& c, const std::vector<int64_t>& steps,
           const std::string& vocab = "a\nb\nc\n")
      : config(c) {
    fs::create_directory(run / "tok");
    testing::write_text(run / "tok/vocab.txt", vocab);
    for (int64_t step : steps) {
      testing::TrainedModel t = testing::trained_model(config, static_cast<uint64_t>(step), 2);
      CheckpointState state;
      state.step = step;
      state.seed = 1234;
      state.run_config = {{"preset", "tiny"}, {"at", step}};
      state.data_state = {{"position", 17 * step}};
      state.tokenizer_dir = run / "tok";
      dirs.push_back(save_checkpoint(run.path(), *t.model, *t.optimizer, state));
      values.push_back(values_of(*t.model));
      models.push_back(std::move(t));
    }
  }
};

TEST(AverageCheckpoints, ParametersAreTheElementWiseMeanAndTheRestIsTheNewests) {
  for (const char* preset : {"tiny-gpt", "tiny-encoder-decoder"}) {
    SCOPED_TRACE(preset);
    SavedRun saved(model_preset(preset), {10, 20, 30});
    ScratchDir out;
    // Any order: the newest is the highest step.
    const Checkpoint c =
        average_checkpoints({saved.dirs[1], saved.dirs[2], saved.dirs[0]}, out / "avg");
    EXPECT_EQ(c.dir, out / "avg");
    EXPECT_EQ(names_in(out.path()), std::vector<std::string>{"avg"}) << "a temp directory is left";
    EXPECT_EQ(names_in(c.dir), (std::vector<std::string>{"manifest.json", "model.safetensors",
                                                         "optimizer.safetensors", "tokenizer"}));
    EXPECT_EQ(c.manifest["average"]["steps"], json({10, 20, 30}));
    EXPECT_EQ(c.manifest["average"]["checkpoints"], json(saved.dirs));
    EXPECT_EQ(c.step, 30);
    EXPECT_EQ(c.optimizer_step_count, 2);
    EXPECT_EQ(c.seed, 1234u);
    EXPECT_EQ(c.data_state, json({{"position", 17 * 30}}));
    EXPECT_EQ(c.run_config["at"], 30);
    EXPECT_EQ(testing::read_text(c.tokenizer_dir + "/vocab.txt"), "a\nb\nc\n");

    testing::TrainedModel loaded = testing::trained_model(c.model_config, 99, 1);
    restore_model(*loaded.model, c);
    restore_optimizer(*loaded.optimizer, c);
    const std::vector<std::vector<float>> means = f32_means(saved.values);
    const std::vector<Parameter*> params = loaded.model->parameters();
    for (size_t p = 0; p < params.size(); ++p) {
      EXPECT_EQ(params[p]->value.to_float_vector(), means[p]) << params[p]->name;
    }
    // AdamW's moments are the newest's.
    const std::vector<NamedTensor> newest = saved.models.back().optimizer->state_tensors(),
                                   states = loaded.optimizer->state_tensors();
    ASSERT_EQ(newest.size(), states.size());
    for (size_t i = 0; i < states.size(); ++i) {
      EXPECT_TRUE(testing::same_bytes(*newest[i].tensor, *states[i].tensor)) << states[i].name;
    }
  }
}

TEST(AverageCheckpoints, OfOneCheckpointIsBitIdentical) {
  SavedRun saved(model_preset("tiny-gpt"), {5, 6});
  ScratchDir out;
  const Checkpoint c = average_checkpoints({saved.dirs[0]}, out / "step-00000005");
  EXPECT_EQ(c.manifest["average"]["steps"], json({5}));
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "tokenizer/vocab.txt"}) {
    EXPECT_EQ(testing::read_text(c.dir + "/" + file),
              testing::read_text(saved.dirs[0] + "/" + file))
        << file;
  }
}

// A bf16 run stores bf16 values and f32 masters (its exact weights): the
// average's masters are the masters' mean and its values their rounding.
TEST(AverageCheckpoints, ABf16RunAveragesItsMasters) {
  const ModelConfig config = testing::run_config("gpt");
  testing::TrainingRun run(config, DType::BF16, Device::CPU);
  testing::FixedBatches data(testing::make_run_batches(config, 3));
  ScratchDir dir, out;
  std::vector<std::vector<std::vector<double>>> masters;  // by step, by parameter
  std::vector<std::string> dirs;
  for (int64_t step = 1; step <= 3; ++step) {
    run.trainer->train_step(data);
    CheckpointState state;
    state.step = step;
    dirs.push_back(save_checkpoint(dir.path(), *run.model, *run.optimizer, state));
    std::map<std::string, std::vector<double>> by_name;
    for (const NamedTensor& s : run.optimizer->state_tensors())
      by_name[s.name] = s.tensor->to_double_vector();
    masters.emplace_back();
    for (const Parameter* p : run.model->parameters())
      masters.back().push_back(by_name.at(p->name + ".master"));
  }
  const Checkpoint c = average_checkpoints({dirs[1], dirs[2]}, out / "avg");
  const std::vector<std::vector<float>> means = f32_means({masters[1], masters[2]});

  testing::TrainingRun f32(config, DType::F32, Device::CPU), bf16(config, DType::BF16, Device::CPU);
  restore_model(*f32.model, c);  // takes the masters
  restore_model(*bf16.model, c);
  const SafetensorsFile model = load_safetensors(c.shards[0].model_path);
  const std::vector<Parameter*> exact = f32.model->parameters(), rounded = bf16.model->parameters();
  for (size_t p = 0; p < exact.size(); ++p) {
    EXPECT_EQ(model.at(exact[p]->name).dtype(), DType::BF16) << exact[p]->name;
    EXPECT_EQ(exact[p]->value.to_float_vector(), means[p]) << exact[p]->name;
    Tensor mean = Tensor::from_vector(means[p], exact[p]->value.shape());
    Tensor narrow = Tensor::empty(mean.shape(), DType::BF16);
    ops::convert(mean, narrow);
    EXPECT_TRUE(testing::same_bytes(rounded[p]->value, narrow)) << rounded[p]->name;
  }
  // One bf16 checkpoint: its values are its masters' rounding, so it comes back whole.
  const Checkpoint one = average_checkpoints({dirs[2]}, out / "one");
  for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
    EXPECT_EQ(testing::read_text(one.dir + "/" + file), testing::read_text(dirs[2] + "/" + file))
        << file;
  }
}

// Checkpoints of a dp 2 x tp 2 run with ZeRO-1 (flat optimizer parts): each
// shard file is averaged with its twins, the parts are joined, and the
// average loads under one rank, tp 2 and ZeRO alike.
TEST(AverageCheckpoints, ATensorParallelRunAveragesShardWiseAndLoadsUnderAnyLayout) {
  const ModelConfig config = testing::tiny_config("gpt");  // a padded vocabulary under tp 2
  ScratchDir run, out;
  std::vector<std::vector<std::vector<double>>> values;
  for (int64_t step = 1; step <= 3; ++step) {
    testing::on_ranks({2, 2}, [&](const ProcessGroups& groups) {
      testing::RankModel r(config, groups, 40 + static_cast<uint64_t>(step), /*zero=*/1);
      CheckpointState state;
      state.step = step;
      save_checkpoint(run.path(), *r.model, *r.optimizer, state, 0, groups);
    });
    auto single = make_model(config);
    restore_model(*single, load_checkpoint(list_checkpoints(run.path()).front()));
    values.push_back(values_of(*single));
  }
  const Checkpoint c = average_checkpoints(list_checkpoints(run.path()), out / "avg");
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.manifest["layout"], json({{"tp", 2}, {"dp", 2}}));
  EXPECT_EQ(names_in(c.dir),
            (std::vector<std::string>{
                "manifest.json", "model-tp00-of-02.safetensors", "model-tp01-of-02.safetensors",
                "optimizer-tp00-of-02.safetensors", "optimizer-tp01-of-02.safetensors"}));

  auto single = make_model(config);
  restore_model(*single, c);
  const std::vector<std::vector<float>> means = f32_means(values);
  const std::vector<Parameter*> params = single->parameters();
  for (size_t p = 0; p < params.size(); ++p) {
    EXPECT_EQ(params[p]->value.to_float_vector(), means[p]) << params[p]->name;
  }
  for (const testing::Layout& layout : {testing::Layout{1, 2}, testing::Layout{2, 2}}) {
    testing::on_ranks(layout, [&](const ProcessGroups& groups) {
      testing::RankModel r(config, groups, 99, /*zero=*/1);
      EXPECT_NO_THROW(restore_model(*r.model, c)) << testing::layout_name(layout);
      EXPECT_NO_THROW(restore_optimizer(*r.optimizer, c)) << testing::layout_name(layout);
    });
  }
}

// Separate source and target vocabularies: the run keeps the encoder's
// tokenizer beside its checkpoints; the average carries its own copy, so it
// loads wherever it is put.
TEST(AverageCheckpoints, CarriesTheSourceTokenizerOfSeparateVocabularies) {
  ModelConfig config = model_preset("tiny-encoder-decoder");
  config.source_vocab_size = 24;
  SavedRun saved(config, {1, 2});
  fs::create_directory(saved.run / kSourceTokenizerDir);
  testing::write_text(saved.run / "tokenizer_src/vocab.txt", "x\ny\n");
  EXPECT_EQ(source_tokenizer_dir_of(load_checkpoint(saved.dirs[0])), saved.run / "tokenizer_src");

  ScratchDir out;
  const Checkpoint c = average_checkpoints(saved.dirs, out / "avg");
  EXPECT_EQ(c.source_tokenizer_dir, out / "avg/tokenizer_src");
  EXPECT_EQ(source_tokenizer_dir_of(c), c.source_tokenizer_dir);
  EXPECT_EQ(c.manifest["source_tokenizer"], json({"vocab.txt"}));
  EXPECT_EQ(testing::read_text(c.source_tokenizer_dir + "/vocab.txt"), "x\ny\n");
  auto model = make_model(c.model_config);
  restore_model(*model, c);
  // An average of averages keeps it.
  const Checkpoint again = average_checkpoints({c.dir}, out / "again");
  EXPECT_EQ(testing::read_text(again.source_tokenizer_dir + "/vocab.txt"), "x\ny\n");
}

}  // namespace
}  // namespace weft
