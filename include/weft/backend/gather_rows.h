#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Rows picked by index along the first dimension, for beam search (a beam
// continues the state of the row it extends) and for copying one encoded
// source to its k beams:
//   src (N, C...)   index (M) i32 in [0, N)   dst (M, C...)
//   dst[m] = src[index[m]]                     (written)
// Any dtype (src and dst alike); index on src's device. dst
// must not overlap src: a permutation in place would read rows already
// overwritten. Inference only, so there is no backward.
void gather_rows(const Tensor& src, const Tensor& index, Tensor& dst);

}  // namespace weft::ops
