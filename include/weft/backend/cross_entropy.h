#pragma once
#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// Softmax cross-entropy with label smoothing ε and an ignore index, per row of
// logits (N,V) with targets (N) i32. With p = softmax(logits[n]), t = targets[n]:
//   losses[n] = (1 − ε)·(−log p_t) + ε·(1/V)·Σ_j (−log p_j),   0 when t == ignore_index
// When dlogits (N,V) is defined it is written with
//   grad_scale · (p − (1 − ε)·onehot(t) − ε/V),   rows of ignored targets 0;
// dlogits may alias logits. losses (N) has the logits' dtype, or f32 for bf16
// logits (mixed precision).
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits);

}  // namespace weft::ops
