#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// RMS norm over the last dimension D of x (N...,D), as LLaMA:
//   y = x · rstd · gamma,   rstd = 1 / sqrt(mean(x²) + eps)
// rstd (N) is cached for the backward pass; x's dtype, or f32 for bf16 x
// (mixed precision). Like layer norm's statistics, rstd may also have x's
// leading dimensions (N...). y (N...,D) is written and may alias x.
void rms_norm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd);
// dx is written (and may alias dy); dgamma is accumulated (+=). dgamma has
// gamma's dtype or, as the f32 main gradient of a bf16 gamma, f32 (as
// layer_norm_backward allows).
void rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                       Tensor& dx, Tensor& dgamma);

}  // namespace weft::ops
