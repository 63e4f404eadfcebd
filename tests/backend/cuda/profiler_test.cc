// The profiler's device clock: a CUDA dispatch is timed by compute-stream
// events, so a large GEMM's recorded time is the device's time on it, close
// to the wall time of the GEMM run to completion, not the microseconds the
// host takes to launch it.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "gpu_testing.h"
#include "weft/backend/gemm.h"
#include "weft/backend/gpu.h"
#include "weft/backend/profiler.h"

namespace weft::testing {
namespace {

class ProfilerGpu : public GpuTest {
 protected:
  void TearDown() override {
    profiler::enable(false);
    profiler::reset();
  }
};

TEST_F(ProfilerGpu, TimesKernelsOnTheDeviceNotTheirLaunch) {
  const int64_t n = 4096;  // 137 GFLOP in f32: milliseconds on any GPU
  const Tensor a = Tensor::from_vector(std::vector<float>(n * n, 0.5f), {n, n}, Device::CUDA);
  const Tensor b = Tensor::from_vector(std::vector<float>(n * n, 0.25f), {n, n}, Device::CUDA);
  Tensor c = Tensor::zeros({n, n}, DType::F32, Device::CUDA);
  ops::gemm(a, false, b, false, c);  // warm-up: plans, clocks
  gpu::synchronize();

  profiler::reset();
  profiler::enable(true);
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kCalls = 5;
  for (int i = 0; i < kCalls; ++i) ops::gemm(a, false, b, false, c);
  gpu::synchronize();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  profiler::enable(false);

  double gemm_seconds = 0.0;
  int64_t calls = 0;
  for (const profiler::KernelTime& t : profiler::snapshot()) {
    if (t.kernel == "gemm") {
      gemm_seconds = t.seconds;
      calls = t.calls;
    }
  }
  EXPECT_EQ(calls, kCalls);
  // The device was busy with nothing else: the events' intervals cover most
  // of the wall time and never exceed it.
  EXPECT_GT(gemm_seconds, 0.5 * wall) << "gemm " << gemm_seconds << " s of " << wall << " s";
  EXPECT_LE(gemm_seconds, wall * 1.01) << "gemm " << gemm_seconds << " s of " << wall << " s";
}

}  // namespace
}  // namespace weft::testing
