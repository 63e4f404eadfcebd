#include "support/training_runs.h"

#include <cmath>

#include "support/parallel_layouts.h"
#include "support/tensor_testing.h"
#include "weft/model/factory.h"

namespace weft::testing {

double run_loss_budget(DType dtype) { return dtype == DType::BF16 ? 2e-2 : 1e-4; }

ModelConfig run_config(const std::string& family) {
  ModelConfig c = tiny_config(family);
  c.n_heads = 2;
  c.validate();
  return c;
}

std::vector<Batch> make_run_batches(const ModelConfig& c, int64_t count) {
  const int32_t vocab = static_cast<int32_t>(c.vocab_size);
  std::vector<Batch> batches;
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t seed = 500 + 10 * static_cast<uint64_t>(k);
    Batch b;
    b.input = random_ids({kRunRows, kRunTargetLen}, vocab, seed);
    b.target = random_ids({kRunRows, kRunTargetLen}, vocab, seed + 1);
    b.target.data<int32_t>()[(k % kRunRows) * kRunTargetLen + k % kRunTargetLen] = kIgnoreIndex;
    if (c.architecture == Architecture::EncoderDecoder) {
      b.source = random_ids({kRunRows, kRunSourceLen}, vocab - 1, seed + 2);
      int32_t* source = b.source.data<int32_t>();
      for (int64_t i = 0; i < b.source.numel(); ++i) source[i] += 1;  // 0 is padding
      const int64_t padded_row = k % kRunRows;
      source[padded_row * kRunSourceLen + kRunSourceLen - 1] = 0;
      source[padded_row * kRunSourceLen + kRunSourceLen - 2] = 0;
    }
    batches.push_back(b);
  }
  return batches;
}

TrainingRun::TrainingRun(const ModelConfig& c, DType dtype, Device device) {
  model = make_model(c, LayerContext{dtype, device});
  initialize_parameters(model->parameters(), 42);
  optimizer = std::make_unique<AdamW>(model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1});
  TrainerOptions options;
  options.grad_clip = 1.0;
  options.seed = 7;
  trainer = std::make_unique<Trainer>(*model, *optimizer, schedule, options);
}

std::vector<double> train_losses(const ModelConfig& c, DType dtype, Device device, int64_t steps) {
  TrainingRun run(c, dtype, device);
  FixedBatches data(make_run_batches(c, 10));
  std::vector<double> losses;
  for (int64_t s = 0; s < steps; ++s) losses.push_back(run.trainer->train_step(data).loss);
  return losses;
}

::testing::AssertionResult same_losses(const std::vector<double>& actual,
                                       const std::vector<double>& reference, double budget) {
  if (actual.size() != reference.size()) {
    return ::testing::AssertionFailure()
           << actual.size() << " steps against a reference of " << reference.size();
  }
  double worst = 0.0;
  size_t worst_step = 0, outside = 0, first_outside = 0;
  for (size_t s = 0; s < actual.size(); ++s) {
    const double error = std::abs(actual[s] - reference[s]) / std::abs(reference[s]);
    if (!(error <= budget) && outside++ == 0) first_outside = s;
    if (!(error <= worst)) worst = error, worst_step = s;
  }
  if (outside == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << outside << " of " << actual.size() << " steps differ by more than " << budget
         << " relative; the first is step " << first_outside + 1 << ": " << actual[first_outside]
         << " against " << reference[first_outside] << "; the worst step " << worst_step + 1
         << " (" << worst << ")";
}

}  // namespace weft::testing
