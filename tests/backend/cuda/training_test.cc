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
#include "support/training_runs.h"
#include "weft/backend/gpu.h"
#include "weft/model/factory.h"
#include "weft/tensor/allocator.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::testing {
namespace {

constexpr int64_t kSteps = 100;

double mib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

class TrainingGpu : public GpuPrecisionTest {
 protected:
  void expect_losses_match_the_cpu(const std::string& family) {
    const ModelConfig c = run_config(family);
    const std::vector<double> cpu = train_losses(c, DType::F64, Device::CPU, kSteps);
    gpu::reset_peak();
    const std::vector<double> gpu_losses = train_losses(c, dtype(), Device::CUDA, kSteps);
    EXPECT_TRUE(same_losses(gpu_losses, cpu, run_loss_budget(dtype())))
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
    const ModelConfig c = run_config(family);
    TrainingRun run(c, dtype(), Device::CUDA);
    FixedBatches data(make_run_batches(c, 1));
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
