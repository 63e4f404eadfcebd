#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

enum class Activation { ReLU, GELU };  // GELU in its tanh form, as GPT-2

// y = act(x), elementwise; y may alias x.
void activation_forward(Activation act, const Tensor& x, Tensor& y);
// dx = act'(x) · dy, written; dx may alias dy.
void activation_backward(Activation act, const Tensor& x, const Tensor& dy, Tensor& dx);

}  // namespace weft::ops
