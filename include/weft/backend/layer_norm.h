#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Layer norm over the last dimension D of x (N...,D):
//   y = (x − mean) · rstd · gamma + beta,   rstd = 1 / sqrt(var + eps)
// mean and rstd (N) are cached for the backward pass.
void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd);
// dx is written; dgamma and dbeta are accumulated (+=).
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                         const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta);

}  // namespace weft::ops
