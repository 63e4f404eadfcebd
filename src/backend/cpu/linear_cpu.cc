// The fused linear ops on the CPU are the unfused steps one after another
// (gemm, add_bias, GELU, bias_backward), so a layer gives the same bits
// whichever it calls.
// The activation kernels are named cpu:: because their ops::Activation
// argument would also bring ops::activation_* in by argument lookup.

#include "backend/kernels.h"

namespace weft::cpu {

// x (N...,in)  w (out,in)  bias (out) or undefined  pre, y (N...,out)
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu, Tensor& pre,
                    Tensor& y) {
  Tensor& z = gelu ? pre : y;  // x·wᵀ + bias
  gemm(x, false, w, true, z, 1.0, 0.0);
  if (bias.defined()) add_bias(bias, z);
  if (gelu) cpu::activation_forward(ops::Activation::GELU, pre, y);
}

// dy (N...,out)  w (out,in)  pre, dpre (N...,in)
void linear_backward_gelu(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dpre) {
  gemm(dy, false, w, false, dpre, 1.0, 0.0);
  cpu::activation_backward(ops::Activation::GELU, pre, dpre, dpre);
}

// dy (N...,out)  x (N...,in)  dweight (out,in)  dbias (out) or undefined
void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dweight, Tensor& dbias) {
  gemm(dy, true, x, false, dweight, 1.0, 1.0);
  if (dbias.defined()) bias_backward(dy, dbias);
}

}  // namespace weft::cpu
