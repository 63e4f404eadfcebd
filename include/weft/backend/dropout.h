#pragma once
#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// Where a dropout mask comes from. The mask of an element depends only on
// (seed, step, site) and the element's index in the full (unsharded, whole
// global batch) activation, never on the parallel layout: a tensor viewed as
// (rows, cols) has local element (r, c) at global index
//   (row_offset + r) · global_cols + col_offset + c.
struct DropoutSite {
  uint64_t seed = 0;
  uint64_t step = 0;
  uint64_t site = 0;         // which dropout in the model
  int64_t row_offset = 0;    // global row of local row 0 (data parallel, micro-batches)
  int64_t global_cols = 0;   // 0: the local number of columns
  int64_t col_offset = 0;    // first global column held here (tensor parallel)
};

// y = x · keep / (1 − p) with keep ~ Bernoulli(1 − p); y may alias x. p = 0 copies.
void dropout_forward(const Tensor& x, double p, const DropoutSite& site, Tensor& y);
// dx = dy · keep / (1 − p) with the same mask; dx may alias dy.
void dropout_backward(const Tensor& dy, double p, const DropoutSite& site, Tensor& dx);

}  // namespace weft::ops
