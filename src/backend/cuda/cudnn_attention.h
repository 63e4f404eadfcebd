#pragma once
// cuDNN's fused scaled-dot-product attention for bf16 (cudnn_attention.cc;
// cudnn_unavailable.cc in a build without cuDNN). Same arguments and
// conventions as weft::ops::flash_attention_{forward,backward}, already
// checked: q, out (B,Tq,H,Dh), k, v (B,Tk,H,Dh), lse (B,H,Tq) f32 holding
// the natural log of Σ_j exp(scale·q_i·k_j) over the keys query i sees.
//
// Each function either runs the call and returns true, or does nothing and
// returns false, saying why in `why` when given. It declines:
//   - f32 (cuDNN's fused attention is 16-bit only);
//   - head dims not a multiple of 8, or operands not 16-byte aligned;
//   - causal with Tq > Tk (the first queries see no key, whose lse must be
//     −inf and output 0; cuDNN defines neither);
//   - fewer than kCudnnMinQueries queries (decode steps: a plan per cache length
//     costs more to build than it saves);
//   - key_valid rows that are not ones then zeros with at least one one
//     (cuDNN's padding mask is a length per row);
//   - shapes cuDNN itself refuses (its message is kept, per shape);
//   - no cuDNN handle (driver or library mismatch; said once on stderr).
// The forward's lse and the backward's use of it follow weft's convention,
// so a forward by one path and a backward by the other agree.

#include <string>

#include "weft/tensor/tensor.h"

namespace weft::cuda {

inline constexpr int64_t kCudnnMinQueries = 16;

// Whether this build has the cuDNN path at all (WEFT_CUDNN).
bool cudnn_attention_built();

bool cudnn_flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                                   Tensor& out, std::string* why = nullptr);

// Backward with cuDNN's deterministic algorithm: the same inputs give the
// same bits.
bool cudnn_flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& key_valid, bool causal, double scale,
                                    const Tensor& out, const Tensor& lse, const Tensor& dout,
                                    Tensor& dq, Tensor& dk, Tensor& dv, std::string* why = nullptr);

}  // namespace weft::cuda
