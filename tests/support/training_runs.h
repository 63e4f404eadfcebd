#pragma once
// Whole training runs for tests that compare precisions or devices: a tiny
// GPT or encoder-decoder trained on fixed random batches (dropout, padding,
// ignored targets, label smoothing), the same way on any device and dtype.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "weft/data/batch.h"
#include "weft/model/model.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::testing {

inline constexpr int64_t kRunRows = 8, kRunTargetLen = 12, kRunSourceLen = 13;

// Per-step loss budgets of a whole 100-step run against f64 or f32,
// relative: rounding differences grow over the steps, so they exceed the
// single-op budgets.
double run_loss_budget(DType dtype);

// tiny_config's shapes with head dimension 16 (2 heads), as the attention
// kernels are tested with.
ModelConfig run_config(const std::string& family);

// Host batches made once: handing one out allocates nothing.
class FixedBatches final : public BatchStream {
 public:
  explicit FixedBatches(std::vector<Batch> batches) : batches_(std::move(batches)) {}
  Batch next() override { return batches_[next_++ % batches_.size()]; }
  nlohmann::json state() const override { return {{"position", next_}}; }
  void restore(const nlohmann::json& state) override { next_ = state.at("position"); }

 private:
  std::vector<Batch> batches_;
  size_t next_ = 0;
};

// Random ids with one ignored target per batch and, for the encoder-decoder,
// sources with trailing padding (id 0) in one row.
std::vector<Batch> make_run_batches(const ModelConfig& c, int64_t count);

// A model, its optimizer and a trainer, built the same way on any device.
struct TrainingRun {
  std::unique_ptr<Model> model;
  std::unique_ptr<AdamW> optimizer;
  ConstantSchedule schedule{3e-3};
  std::unique_ptr<Trainer> trainer;
  TrainingRun(const ModelConfig& c, DType dtype, Device device);
};

// Each step's loss over `steps` steps of 10 cycling batches.
std::vector<double> train_losses(const ModelConfig& c, DType dtype, Device device, int64_t steps);

// Every step's loss within `budget` of the reference's, relative; names the
// first step outside it and the worst.
::testing::AssertionResult same_losses(const std::vector<double>& actual,
                                       const std::vector<double>& reference, double budget);

}  // namespace weft::testing
