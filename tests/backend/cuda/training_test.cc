// Whole training runs on the GPU against the same runs on the CPU in f64: a
// tiny GPT and a tiny encoder-decoder (dropout, padding, ignored targets,
// label smoothing), 100 steps each, compared step by step. Also: after the
// first step, a step allocates no memory, and the peak the arena saw is
// reported.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gpu_testing.h"
#include "support/parallel_layouts.h"
#include "support/tensor_testing.h"
#include "weft/backend/gpu.h"
#include "weft/model/factory.h"
#include "weft/tensor/allocator.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::testing {
namespace {

constexpr int64_t kSteps = 100;
constexpr int64_t kRows = 8, kTargetLen = 12, kSourceLen = 13;

// Per-step loss budgets of a whole run, relative: rounding differences grow
// over 100 optimizer steps, so they exceed the single-op budgets.
double loss_budget(DType dtype) { return dtype == DType::BF16 ? 2e-2 : 1e-4; }

// tiny_config's shapes with head dimension 16 (2 heads), as the attention
// kernels are tested with.
ModelConfig config_for(const std::string& family) {
  ModelConfig c = tiny_config(family);
  c.n_heads = 2;
  c.validate();
  return c;
}

// Host batches made once: handing one out allocates nothing.
class FixedBatches final : public BatchStream {
 public:
  nlohmann::json state() const override { return {{"position", next_}}; }
  void restore(const nlohmann::json& state) override { next_ = state.at("position"); }
  explicit FixedBatches(std::vector<Batch> batches) : batches_(std::move(batches)) {}
  Batch next() override { return batches_[next_++ % batches_.size()]; }

 private:
  std::vector<Batch> batches_;
  size_t next_ = 0;
};

// Random ids with one ignored target per batch and, for the encoder-decoder,
// sources with trailing padding (id 0) in one row.
std::vector<Batch> make_batches(const ModelConfig& c, int64_t count) {
  const int32_t vocab = static_cast<int32_t>(c.vocab_size);
  std::vector<Batch> batches;
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t seed = 500 + 10 * static_cast<uint64_t>(k);
    Batch b;
    b.input = random_ids({kRows, kTargetLen}, vocab, seed);
    b.target = random_ids({kRows, kTargetLen}, vocab, seed + 1);
    b.target.data<int32_t>()[(k % kRows) * kTargetLen + k % kTargetLen] = kIgnoreIndex;
    if (c.architecture == Architecture::EncoderDecoder) {
      b.source = random_ids({kRows, kSourceLen}, vocab - 1, seed + 2);
      int32_t* source = b.source.data<int32_t>();
      for (int64_t i = 0; i < b.source.numel(); ++i) source[i] += 1;  // 0 is padding
      const int64_t padded_row = k % kRows;
      source[padded_row * kSourceLen + kSourceLen - 1] = 0;
      source[padded_row * kSourceLen + kSourceLen - 2] = 0;
    }
    batches.push_back(b);
  }
  return batches;
}

// A model, its optimizer and a trainer, built the same way on any device.
struct TrainingRun {
  std::unique_ptr<Model> model;
  std::unique_ptr<AdamW> optimizer;
  ConstantSchedule schedule{3e-3};
  std::unique_ptr<Trainer> trainer;

  TrainingRun(const ModelConfig& c, DType dtype, Device device) {
    model = make_model(c, LayerContext{dtype, device});
    initialize_parameters(model->parameters(), 42);
    optimizer = std::make_unique<AdamW>(model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1});
    TrainerOptions options;
    options.grad_clip = 1.0;
    options.seed = 7;
    trainer = std::make_unique<Trainer>(*model, *optimizer, schedule, options);
  }
};

std::vector<double> train_losses(const ModelConfig& c, DType dtype, Device device) {
  TrainingRun run(c, dtype, device);
  FixedBatches data(make_batches(c, 10));
  std::vector<double> losses;
  for (int64_t s = 0; s < kSteps; ++s) losses.push_back(run.trainer->train_step(data).loss);
  return losses;
}

// Every step's loss within the budget; names the first step outside it.
::testing::AssertionResult same_losses(const std::vector<double>& gpu,
                                       const std::vector<double>& cpu, double budget) {
  if (gpu.size() != cpu.size()) {
    return ::testing::AssertionFailure() << gpu.size() << " GPU steps, " << cpu.size() << " CPU";
  }
  double worst = 0.0;
  size_t worst_step = 0, outside = 0, first_outside = 0;
  for (size_t s = 0; s < gpu.size(); ++s) {
    const double error = std::abs(gpu[s] - cpu[s]) / std::abs(cpu[s]);
    if (!(error <= budget) && outside++ == 0) first_outside = s;
    if (!(error <= worst)) worst = error, worst_step = s;
  }
  if (outside == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << outside << " of " << gpu.size() << " steps differ by more than " << budget
         << " relative; the first is step " << first_outside + 1 << ": gpu " << gpu[first_outside]
         << ", cpu " << cpu[first_outside] << "; the worst step " << worst_step + 1 << " ("
         << worst << ")";
}

double mib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

class TrainingGpu : public GpuPrecisionTest {
 protected:
  void expect_losses_match_the_cpu(const std::string& family) {
    const ModelConfig c = config_for(family);
    const std::vector<double> cpu = train_losses(c, DType::F64, Device::CPU);
    gpu::reset_peak();
    const std::vector<double> gpu_losses = train_losses(c, dtype(), Device::CUDA);
    EXPECT_TRUE(same_losses(gpu_losses, cpu, loss_budget(dtype())))
        << family << ", " << dtype_name(dtype()) << " on " << gpu::describe();
    EXPECT_LT(gpu_losses.back(), gpu_losses.front()) << family << " did not learn";
    const size_t peak = gpu::memory_stats().peak;
    RecordProperty("peak_arena_bytes", std::to_string(peak));
    std::printf("%s, %s on cuda: %ld steps, loss %.4f -> %.4f, peak arena use %.1f MiB\n",
                family.c_str(), dtype_name(dtype()), static_cast<long>(kSteps),
                gpu_losses.front(), gpu_losses.back(), mib(peak));
  }
};
WEFT_GPU_PRECISIONS(TrainingGpu);

TEST_P(TrainingGpu, TinyGptFollowsTheCpu) { expect_losses_match_the_cpu("gpt"); }

TEST_P(TrainingGpu, TinyEncoderDecoderFollowsTheCpu) {
  expect_losses_match_the_cpu("encoder-decoder");
}

// Buffers are sized by the first step; later steps of the same shapes take
// no new storage on any device and hold the same device memory.
TEST_P(TrainingGpu, StepsAfterTheFirstAllocateNothing) {
  for (const std::string family : {"gpt", "encoder-decoder"}) {
    SCOPED_TRACE(family);
    const ModelConfig c = config_for(family);
    TrainingRun run(c, dtype(), Device::CUDA);
    FixedBatches data(make_batches(c, 1));
    run.trainer->train_step(data);
    const int64_t allocations = allocation_count();
    const gpu::MemoryStats after_first = gpu::memory_stats();
    for (int s = 0; s < 3; ++s) run.trainer->train_step(data);
    const gpu::MemoryStats after_more = gpu::memory_stats();
    EXPECT_EQ(allocation_count(), allocations) << "tensor storage allocated by steps 2 to 4";
    EXPECT_EQ(after_more.in_use, after_first.in_use) << "device bytes in use after step 1 vs 4";
    EXPECT_EQ(after_more.peak, after_first.peak) << "device peak after step 1 vs 4";
    std::printf("%s, %s on cuda: %.1f MiB in use between steps, peak %.1f MiB\n", family.c_str(),
                dtype_name(dtype()), mib(after_more.in_use), mib(after_more.peak));
  }
}

}  // namespace
}  // namespace weft::testing
