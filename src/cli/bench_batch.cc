#include "cli/bench_batch.h"

#include <cstdio>
#include <string>

#include "cli/bench_run.h"
#include "weft/backend/gpu.h"
#include "weft/tensor/error.h"

namespace weft::cli {

namespace {

double gib(size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

bool fits(const ModelConfig& config, const LayerContext& ctx, int64_t batch, int64_t seq) {
  gpu::synchronize();
  gpu::reset_peak();
  try {
    BenchRun run(config, ctx, batch, seq);
    run.step();
    gpu::synchronize();
  } catch (const Error& e) {
    if (!is_out_of_device_memory(e)) throw;
    // The failed try's tensors are back in the arena; kernels queued before
    // the refusal finish before anything reuses them (one stream).
    gpu::synchronize();
    std::printf("max-batch: %ld does not fit\n", static_cast<long>(batch));
    std::fflush(stdout);
    return false;
  }
  std::printf("max-batch: %ld fits (peak %.2f GiB)\n", static_cast<long>(batch),
              gib(gpu::memory_stats().peak));
  std::fflush(stdout);
  return true;
}

}  // namespace

bool is_out_of_device_memory(const std::exception& e) {
  return std::string(e.what()).find("out of device memory") != std::string::npos;
}

int64_t find_max_batch(const ModelConfig& config, const LayerContext& ctx, int64_t seq,
                       int64_t limit) {
  int64_t fitted = 0, too_large = 0;  // 0: none known yet
  bool last_try_fitted = false;
  auto try_batch = [&](int64_t batch) {
    last_try_fitted = fits(config, ctx, batch, seq);
    if (last_try_fitted) {
      fitted = batch;
    } else {
      too_large = batch;
    }
    return last_try_fitted;
  };
  for (int64_t batch = 1; batch <= limit && try_batch(batch);) batch *= 2;
  WEFT_CHECK(fitted > 0, "--max-batch: one sequence of ", seq, " tokens does not fit in the ",
             gib(gpu::memory_stats().capacity),
             " GiB arena; give a shorter --seq or a larger --gpu-memory-fraction");
  if (too_large == 0) return fitted;  // reached the limit
  while (too_large - fitted > 1) try_batch(fitted + (too_large - fitted) / 2);
  // Scratch buffers some ops keep between calls may have grown during a
  // failed try; the benchmark runs in the arena as the search leaves it, so
  // its batch must fit that arena, not the one the search started with.
  while (!last_try_fitted && fitted > 1) {
    const int64_t batch = fitted;
    if (!try_batch(batch)) fitted = batch - 1;
  }
  return fitted;
}

}  // namespace weft::cli
