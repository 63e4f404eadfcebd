#pragma once
// The bytes of model state one rank holds: weights, gradients and optimizer
// state (moments, and f32 masters of bf16 weights), computed from the shape
// and layout (ZeRO's accounting, Rajbhandari et al. 2020: 16 bytes per f32
// parameter without it, 8 + 8/dp with ZeRO-1) or measured from the tensors a
// training rank holds. Activations are not model state.
//
// With bf16 weights the gradients are f32 (main gradients, as Megatron-LM
// keeps them): 2 + 4 + 12 = 18 bytes per parameter, 6 + 12/dp with ZeRO-1
// (Megatron-LM's distributed optimizer accounting). Under data parallelism the
// gradients live in buckets; with ZeRO-1 the weights do too, and both are
// padded to whole 64-element slices per rank (bucket_plan.h).

#include <cstdint>
#include <string>
#include <vector>

#include "weft/model/config.h"
#include "weft/model/parameter.h"
#include "weft/train/adamw.h"
#include "weft/train/grad_buckets.h"

namespace weft {

struct ModelStateBytes {
  int64_t parameters = 0;  // elements of this rank's tensor-parallel shard
  int64_t weights = 0;
  int64_t gradients = 0;
  int64_t optimizer = 0;
  int64_t total() const { return weights + gradients + optimizer; }
  double per_parameter() const;  // total / parameters
  // "weights 474.6 MiB, gradients 474.6 MiB, optimizer 949.2 MiB: 1.85 GiB, 16.00 B/parameter"
  std::string describe() const;
};

// Rank 0 of its data-parallel group (with ZeRO-1 it owns the most: the
// padding is at the end of each bucket). dtype: f32, f64 or bf16 weights.
ModelStateBytes model_state_bytes(const ModelConfig& config, int64_t tp, int64_t dp, bool zero,
                                  DType dtype, int64_t bucket_bytes);

// What a rank holds: its parameters (or, with ZeRO-1, the buckets' value
// buffers), their gradients (or the buckets' gradient buffers) and the
// optimizer's state. `buckets` is null without data parallelism.
ModelStateBytes measure_model_state(const std::vector<Parameter*>& params, const AdamW& optimizer,
                                    const GradientBuckets* buckets);

}  // namespace weft
