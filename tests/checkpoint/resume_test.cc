// Exact resume (DESIGN.md, invariant 4): N steps straight equal k steps,
// save, a fresh process-like restart (new model, optimizer, trainer and data
// source, built from the checkpoint alone), then N - k steps. With dropout
// on, AdamW with weight decay, warm-up + cosine, clipping and gradient
// accumulation, the losses and final parameters must be bit-identical, in
// f32 and in bf16 mixed precision.

#include <gtest/gtest.h>

#include "checkpoint_testing.h"
#include "weft/model/factory.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/train/trainer.h"

namespace weft {
namespace {

using nlohmann::json;

// Batches that are a pure function of (seed, position): its position is the
// whole state, so data_state = {"position": n} resumes it exactly.
class SeededSource : public BatchStream {
 public:
  SeededSource(const ModelConfig& config, uint64_t seed, int64_t position = 0)
      : config_(config), seed_(seed), position_(position) {}

  Batch next() override {
    const uint64_t key = seed_ * 7919 + static_cast<uint64_t>(position_++) * 3;
    const int32_t vocab = static_cast<int32_t>(config_.vocab_size);
    Batch b;
    if (config_.architecture == Architecture::EncoderDecoder) {
      b.source = testing::random_ids({kRows, 7}, vocab, key);
    }
    b.input = testing::random_ids({kRows, 9}, vocab, key + 1);
    b.target = testing::random_ids({kRows, 9}, vocab, key + 2);
    b.target.data<int32_t>()[4] = kIgnoreIndex;
    return b;
  }

  json state() const override { return {{"position", position_}, {"seed", seed_}}; }
  void restore(const json& state) override {
    ASSERT_EQ(state.at("seed").get<uint64_t>(), seed_);
    position_ = state.at("position").get<int64_t>();
  }
  static SeededSource from_state(const ModelConfig& config, const json& state) {
    return SeededSource(config, state.at("seed").get<uint64_t>(),
                        state.at("position").get<int64_t>());
  }

 private:
  static constexpr int64_t kRows = 3;
  ModelConfig config_;
  uint64_t seed_;
  int64_t position_;
};

constexpr int64_t kSteps = 6;
constexpr int64_t kSaveAt = 3;
const AdamWOptions kAdam{0.9, 0.95, 1e-8, 0.1};
const WarmupCosineSchedule kSchedule(1e-2, 1e-3, 2, kSteps);

TrainerOptions trainer_options() {
  TrainerOptions o;
  o.grad_accum = 2;
  o.grad_clip = 0.5;
  o.seed = 4242;
  return o;
}

std::vector<double> values_of(Model& model) {
  std::vector<double> out;
  for (Parameter* p : model.parameters()) {
    const std::vector<double> v = p->value.to_double_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void expect_exact_resume(const char* preset, DType dtype = DType::F32) {
  const LayerContext ctx{dtype, Device::CPU};
  ModelConfig config = model_preset(preset);
  config.dropout = 0.1;

  // Straight through.
  std::vector<double> straight_losses;
  auto straight = make_model(config, ctx);
  initialize_parameters(straight->parameters(), 11);
  {
    AdamW adam(straight->parameters(), kAdam);
    Trainer trainer(*straight, adam, kSchedule, trainer_options());
    SeededSource data(config, 5);
    for (int64_t i = 0; i < kSteps; ++i) straight_losses.push_back(trainer.train_step(data).loss);
  }

  // k steps, then save.
  testing::ScratchDir run;
  std::vector<double> resumed_losses;
  {
    auto model = make_model(config, ctx);
    initialize_parameters(model->parameters(), 11);
    AdamW adam(model->parameters(), kAdam);
    Trainer trainer(*model, adam, kSchedule, trainer_options());
    SeededSource data(config, 5);
    for (int64_t i = 0; i < kSaveAt; ++i) resumed_losses.push_back(trainer.train_step(data).loss);
    CheckpointState state;
    state.step = trainer.step();
    state.seed = trainer.options().seed;
    state.data_state = data.state();
    state.run_config = {{"grad_accum", trainer.options().grad_accum},
                        {"grad_clip", trainer.options().grad_clip}};
    save_checkpoint(run.path(), *model, adam, state);
  }

  // Restart from the checkpoint alone; the fresh model starts from other weights.
  const Checkpoint c = latest_checkpoint(run.path());
  auto model = make_model(c.model_config, ctx);
  initialize_parameters(model->parameters(), 999);
  AdamW adam(model->parameters(), kAdam);
  restore_model(*model, c);
  restore_optimizer(adam, c);
  TrainerOptions options = trainer_options();
  options.seed = c.seed;
  Trainer trainer(*model, adam, kSchedule, options);
  EXPECT_EQ(trainer.step(), kSaveAt);
  SeededSource data = SeededSource::from_state(c.model_config, c.data_state);
  for (int64_t i = kSaveAt; i < kSteps; ++i)
    resumed_losses.push_back(trainer.train_step(data).loss);

  ASSERT_EQ(resumed_losses.size(), straight_losses.size());
  for (size_t i = 0; i < straight_losses.size(); ++i) {
    EXPECT_EQ(resumed_losses[i], straight_losses[i]) << "step " << i + 1;
  }
  // The run is not degenerate: dropout and the updates change the loss.
  EXPECT_NE(straight_losses[kSaveAt], straight_losses[kSaveAt - 1]);
  const std::vector<double> a = values_of(*straight), b = values_of(*model);
  ASSERT_EQ(a.size(), b.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < a.size(); ++i) mismatches += a[i] != b[i] ? 1 : 0;
  EXPECT_EQ(mismatches, 0u) << "of " << a.size() << " parameter elements";
}

TEST(ExactResume, TinyGpt) {
  expect_exact_resume("tiny-gpt");
}
TEST(ExactResume, TinyEncoderDecoder) {
  expect_exact_resume("tiny-encoder-decoder");
}
// bf16 mixed precision: the f32 masters and moments come back from the
// checkpoint, the bf16 values are the masters rounded.
TEST(ExactResume, TinyGptInBf16) {
  expect_exact_resume("tiny-gpt", DType::BF16);
}
TEST(ExactResume, TinyEncoderDecoderInBf16) {
  expect_exact_resume("tiny-encoder-decoder", DType::BF16);
}

}  // namespace
}  // namespace weft
