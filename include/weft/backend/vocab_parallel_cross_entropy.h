#pragma once
// Softmax cross-entropy over a vocabulary split across tensor-parallel ranks
// (Megatron-LM's vocabulary-parallel loss): this rank holds logits (N,V_local)
// for vocabulary columns [vocab_offset, vocab_offset + V_local) of V. No rank
// ever holds full logits; the ranks exchange four numbers per row.
//
//   1. cross_entropy_shard_stats: per row of this shard, f64 (N,4):
//        [max_j x_j,  Σ_j exp(x_j − max),  x_target if this shard holds it else 0,  Σ_j x_j]
//   2. the caller all-gathers the stats of every shard into (shards, N, 4);
//   3. cross_entropy_shard_finish: from all shards' stats, the loss of every
//      row (the same on every rank) and, when dlogits is defined, this shard's
//      columns of the gradient — the same values as ops::cross_entropy on
//      the full logits (label smoothing ε, ignore_index, grad_scale).
// With one shard the two steps compute what ops::cross_entropy computes.

#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// logits (N,V_local), targets (N) i32 -> stats f64 (N,4). Targets are global
// vocabulary ids; ignored rows get zero stats.
void cross_entropy_shard_stats(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                               int64_t ignore_index, Tensor& stats);

// all_stats f64 (shards,N,4) -> losses (N, logits' dtype or f32 for bf16);
// dlogits (N,V_local) may alias logits. A target outside [0, vocab_size) that is not
// ignore_index is refused naming the row.
void cross_entropy_shard_finish(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                                int64_t vocab_size, int64_t ignore_index, double label_smoothing,
                                double grad_scale, const Tensor& all_stats, Tensor& losses,
                                Tensor& dlogits);

}  // namespace weft::ops
