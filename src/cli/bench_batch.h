#pragma once
// The largest micro-batch of a model that fits in the GPU's memory arena,
// found by trying: doubling from 1 until a training step runs out of device
// memory, then bisecting between the last batch that fitted and the first
// that did not.

#include <cstdint>

#include "weft/model/model.h"

namespace weft::cli {

// True for the arena's refusal ("out of device memory"); every other error
// is a real failure and is not taken for "too large".
bool is_out_of_device_memory(const std::exception& e);

// Each try builds a fresh model, optimizer and trainer on ctx.device (CUDA,
// already started) and runs one training step of `batch` x `seq` tokens (the
// first step allocates the optimizer's moments, so it is the step's whole
// footprint), printing whether it fitted and its peak. Stops doubling at
// `limit` sequences. Throws weft::Error when even one sequence does not fit.
int64_t find_max_batch(const ModelConfig& config, const LayerContext& ctx, int64_t seq,
                       int64_t limit = 4096);

}  // namespace weft::cli
