#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Layer norm over the last dimension D of x (N...,D):
//   y = (x − mean) · rstd · gamma + beta,   rstd = 1 / sqrt(var + eps)
// mean and rstd (N) are cached for the backward pass; they have x's dtype, or
// f32 for bf16 x (mixed precision).
void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd);
// dx is written; dgamma and dbeta are accumulated (+=).
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta);

// The residual add of one sub-layer fused with the layer norm that follows
// it, in one pass over memory:
//   sum = a + b,   y = layer_norm(sum)  (mean and rstd cached as above)
// a, b, sum, y (N...,D); sum may alias a.
void add_layer_norm_forward(const Tensor& a, const Tensor& b, const Tensor& gamma,
                            const Tensor& beta, double eps, Tensor& sum, Tensor& y, Tensor& mean,
                            Tensor& rstd);

}  // namespace weft::ops
