#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// The SwiGLU gate of a LLaMA feed-forward block: h = silu(gate) ⊙ up,
// silu(g) = g·σ(g); gate, up, h (N...,F) of one dtype. h is written and may
// alias up (or gate).
void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& h);
// dgate = dh ⊙ up ⊙ σ(g)·(1 + g·(1 − σ(g))),  dup = dh ⊙ silu(g); both
// written, all (N...,F). dgate may alias dh and dup may alias up (each
// element is read before it is written); dgate and dup must be separate.
void swiglu_backward(const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& dgate,
                     Tensor& dup);

}  // namespace weft::ops
