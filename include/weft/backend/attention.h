#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Scaled dot-product attention over the heads a rank holds, heads kept
// interleaved in the model dimension so no transpose is needed:
//   q (B,Tq,H,Dh)   k, v (B,Tk,H,Dh)   out (B,Tq,H,Dh)   probs (B,H,Tq,Tk)
//   probs[b,h] = softmax(scale · q[b,:,h] · k[b,:,h]ᵀ + mask),  out = probs · v
// Masks: `causal` hides key j from query i when j > i + (Tk − Tq) (so a single
// query at the end of a key/value cache sees the whole prefix); `key_valid`
// (B,Tk) i32, when defined, hides keys whose entry is 0 (padding). A query
// that sees no key gets probabilities and output 0.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out);

// Gradients of attention_forward; dq, dk, dv are written (not accumulated).
// `dprobs` is scratch of the shape of probs.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs,
                        const Tensor& dout, double scale, Tensor& dprobs, Tensor& dq, Tensor& dk,
                        Tensor& dv);

}  // namespace weft::ops
