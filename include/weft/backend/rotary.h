#pragma once
#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// Rotary position embedding in the rotate-half convention of Hugging Face's
// Llama: x (B,T,H,Dh), Dh even; row t of every sequence is position
// p = start + t. For i in [0, Dh/2): inv_freq_i = theta^(−2i/Dh),
// angle = p · inv_freq_i,
//   y[i]        = x[i]·cos(angle) − x[i+Dh/2]·sin(angle)
//   y[i+Dh/2]   = x[i+Dh/2]·cos(angle) + x[i]·sin(angle)
// The angle, its cosine and its sine are taken in f32 for f32 and bf16 x, as
// transformers' LlamaForCausalLM takes them, and in double for f64 x. (For a
// bf16 model transformers then rounds cos and sin to bf16; weft keeps them in
// f32, so the two agree within bf16 rounding.) y (B,T,H,Dh) is written and
// may alias x.
void rotary_forward(const Tensor& x, int64_t start, double theta, Tensor& y);
// The transpose (rotation by −angle): dx from dy, both (B,T,H,Dh); dx may
// alias dy.
void rotary_backward(const Tensor& dy, int64_t start, double theta, Tensor& dx);

}  // namespace weft::ops
