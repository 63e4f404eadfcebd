#pragma once
// One benchmark configuration of `weft bench`: a freshly initialised model,
// its AdamW and trainer, fed uniformly random tokens on the model's device.
// The batch search builds one per try, so each owns everything it allocates.

#include <cstdint>
#include <memory>

#include "weft/model/model.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::cli {

// Uniformly random token ids (B,T), made on the host and copied to `device`:
// the speed of a step does not depend on them.
class SyntheticTokens final : public BatchStream {
 public:
  SyntheticTokens(const ModelConfig& config, int64_t batch, int64_t seq, Device device);
  Batch next() override;
  nlohmann::json state() const override { return {{"synthetic", state_}}; }
  void restore(const nlohmann::json& state) override { state_ = state.at("synthetic"); }

 private:
  Tensor random_ids(int64_t vocab);
  ModelConfig config_;
  int64_t batch_, seq_;
  Device device_;
  uint64_t state_ = 42;
};

class BenchRun {
 public:
  BenchRun(const ModelConfig& config, const LayerContext& ctx, int64_t batch, int64_t seq,
           Recompute recompute = Recompute::None);
  BenchRun(const BenchRun&) = delete;
  BenchRun& operator=(const BenchRun&) = delete;

  StepStats step() { return trainer_.train_step(data_); }
  const AdamW& optimizer() const { return optimizer_; }

 private:
  std::unique_ptr<Model> model_;  // first: the optimizer and trainer refer to it
  AdamW optimizer_;
  ConstantSchedule schedule_;
  Trainer trainer_;
  SyntheticTokens data_;
};

}  // namespace weft::cli
