#include "cli/peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/gpu.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft::cli {

namespace {

// An (n, n) matrix of uniform values in [-1, 1). Not a constant: a GPU
// multiplies constant or zero inputs faster (its multipliers switch less and
// its clocks stay higher), which would overstate the peak MFU is taken
// against.
Tensor random_matrix(int64_t n, uint64_t seed, DType dtype, Device device) {
  std::vector<float> values(static_cast<size_t>(n * n));
  const uint64_t key = rng::stream_key(seed, 0, 0);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 2.0f * rng::uniform01(key, i) - 1.0f;
  Tensor f32 = Tensor::from_vector(values, {n, n});
  if (dtype == DType::F32) return f32.to(device);
  Tensor converted = Tensor::empty({n, n}, dtype);
  ops::convert(f32, converted);
  return converted.to(device);
}

double gemm_flops(int64_t n) {
  const double d = static_cast<double>(n);
  return 2.0 * d * d * d;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The product the CPU backend runs for the precision: f32 (oneDNN's matmul,
// or OpenBLAS's sgemm in a build without oneDNN); bf16 (oneDNN, or widened
// to f32 without bf16 instructions).
double cpu_gemm_peak(int64_t n, DType dtype) {
  const Tensor a = random_matrix(n, 1, dtype, Device::CPU);
  const Tensor b = random_matrix(n, 2, dtype, Device::CPU);
  Tensor c = Tensor::empty({n, n}, dtype);
  double best = 1e30;
  for (int i = 0; i < 4; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ops::gemm(a, false, b, false, c);
    if (i > 0) best = std::min(best, seconds_since(t0));  // the first run warms up
  }
  return gemm_flops(n) / best;
}

// One GEMM takes ~2 ms at n = 8192 on an H100, too short to time alone
// against launch and clock overheads, so each sample is a loop of them
// between two synchronisations.
constexpr int kGemmsPerSample = 10;
constexpr int kSamples = 3;

double cuda_bf16_gemm_peak(int64_t n) {
  const Tensor a = random_matrix(n, 1, DType::BF16, Device::CUDA);
  const Tensor b = random_matrix(n, 2, DType::BF16, Device::CUDA);
  Tensor c = Tensor::empty({n, n}, DType::BF16, Device::CUDA);
  double best = 1e30;
  for (int sample = 0; sample <= kSamples; ++sample) {  // sample 0 warms up
    gpu::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kGemmsPerSample; ++i) ops::gemm(a, false, b, false, c);
    gpu::synchronize();
    if (sample > 0) best = std::min(best, seconds_since(t0) / kGemmsPerSample);
  }
  return gemm_flops(n) / best;
}

}  // namespace

PeakFlops measure_peak(Device device, int64_t n, DType dtype) {
  WEFT_CHECK(n > 0, "peak: the GEMM size must be positive, got ", n);
  const std::string size = std::to_string(n) + "^3";
  if (device == Device::CUDA) {
    return {cuda_bf16_gemm_peak(n), "bf16 GEMM " + size + " on cuda, best of " +
                                        std::to_string(kSamples) + " loops of " +
                                        std::to_string(kGemmsPerSample)};
  }
  if (dtype == DType::BF16) {
    return {cpu_gemm_peak(n, DType::BF16),
            "bf16 GEMM " + size + " on cpu (" + ops::cpu_bf16_gemm_path() + "), best of 3"};
  }
  return {cpu_gemm_peak(n, DType::F32),
          "f32 GEMM " + size + " on cpu (" + ops::cpu_f32_gemm_path() + "), best of 3"};
}

double measure_peak_flops(int64_t n) {
  return measure_peak(Device::CPU, n, DType::F32).flops_per_s;
}

}  // namespace weft::cli
