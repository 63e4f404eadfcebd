#pragma once
// The inference step both model families share: append token positions to a
// KVCache, run a stack over them, and project the last position to logits.

#include "weft/model/config.h"
#include "weft/model/kv_cache.h"
#include "weft/model/output_head.h"
#include "weft/model/stack.h"

namespace weft::detail {

// The cache layout of `batch` sequences through a stack of `layers` blocks
// whose tensors are like `like` (dtype, device) on `tp_size` ranks.
KVCacheLayout cache_layout(const ModelConfig& config, int64_t layers, int64_t batch, int tp_size,
                           const Tensor& like);

// ids (B,T) i32 become positions [cache.length(), +T) of the cache's B
// sequences; refused (weft::Error) when they do not fit. Returns the logits
// (B,V) of the last new position, written into `logits`; `last` is scratch
// (B,d).
const Tensor& decode_positions(TransformerStack& stack, OutputHead& head,
                               const ModelConfig& config, const Tensor& ids, KVCache& cache,
                               Tensor& last, Tensor& logits);

}  // namespace weft::detail
