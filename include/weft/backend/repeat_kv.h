#pragma once
#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// Grouped-query attention's key and value heads, shared by `groups` query
// heads each: x (B,T,Hkv,Dh) -> y (B,T,Hkv·groups,Dh), query head h reads
// key/value head h / groups (Hugging Face's repeat_kv). y is written and
// must not overlap x.
void repeat_kv_forward(const Tensor& x, int64_t groups, Tensor& y);
// dx[b,t,j] = Σ over h with h / groups == j of dy[b,t,h], added in order of
// h; dy (B,T,Hkv·groups,Dh), dx (B,T,Hkv,Dh) written, not overlapping dy.
void repeat_kv_backward(const Tensor& dy, int64_t groups, Tensor& dx);

}  // namespace weft::ops
