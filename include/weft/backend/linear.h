#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// A linear layer's GEMM with its bias and activation applied on the way out
// (a cuBLASLt epilogue on CUDA; the same steps one after another on CPU):
//   x (N...,in)   w (out,in)   bias (out) or undefined   y (N...,out)
//   gelu = false:  y = x·wᵀ + bias
//   gelu = true:   pre = x·wᵀ + bias,  y = gelu(pre)   (tanh form, as
//                  ops::Activation::GELU); pre (N...,out) is kept for backward.
// `pre` must be undefined when gelu is false, and must not alias y.
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu, Tensor& pre,
                    Tensor& y);

// The backward GEMM into a GELU's input, with the GELU derivative applied on
// the way out:  dpre = (dy · w) ⊙ gelu'(pre)
//   dy (N...,out)   w (out,in)   pre (N...,in)   dpre (N...,in), written;
//   dpre may alias neither pre nor dy.
void linear_backward_gelu(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dpre);

// A linear layer's parameter gradients, both accumulated (+=):
//   dy (N...,out)   x (N...,in)   dweight (out,in)   dbias (out) or undefined
//   dweight += dyᵀ·x,   dbias += Σ_rows dy
// dy and x share a dtype; the gradients have it too, or are f32 under bf16
// dy and x (main gradients). On CUDA, for f32 gradients, the bias gradient
// comes out of the weight-gradient GEMM (cuBLASLt's bias-gradient epilogue)
// where cuBLASLt allows, so dy is read once; on CPU the op is gemm then
// bias_backward.
void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dweight, Tensor& dbias);

}  // namespace weft::ops
