#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Attention that never stores the (Tq,Tk) probabilities: the forward keeps
// only each query's log-sum-exp of its (scaled, masked) scores, and the
// backward recomputes the probabilities tile by tile from it. Same function,
// layouts and masks as attention_forward (attention.h):
//   q (B,Tq,H,Dh)   k, v (B,Tk,H,Dh)   out (B,Tq,H,Dh)   lse (B,H,Tq) f32
//   key_valid (B,Tk) i32 or undefined; causal hides key j from query i when
//   j > i + (Tk − Tq).
// A query that sees no key gets lse = −inf, output 0 and gradient 0.
void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                             Tensor& out);

// Gradients of flash_attention_forward; dq, dk, dv are written (not
// accumulated). `out` and `lse` are the forward's.
void flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& key_valid, bool causal, double scale,
                              const Tensor& out, const Tensor& lse, const Tensor& dout,
                              Tensor& dq, Tensor& dk, Tensor& dv);

// What the host knows of a key mask it has just written: whether every row
// of key_valid (B,Tk) i32 is ones then zeros with at least one one (`lengths`,
// one length per sequence). The GPU's fused attention takes lengths, not
// masks; told, it need not read that fact back from the device (a wait for
// the GPU) at every call. The backend keeps a reference to key_valid while
// the description holds, so its memory cannot pass to another tensor; whoever
// writes key_valid again describes it again. Nothing to do on the CPU.
void describe_key_mask(const Tensor& key_valid, bool lengths);

}  // namespace weft::ops
