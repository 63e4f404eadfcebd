#pragma once
#include <cstdint>

#include "weft/tensor/host_device.h"
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Where a dropout mask comes from. The mask of an element depends only on
// (seed, step, site) and the element's place in the full (unsharded, whole
// global batch, unpadded) activation, never on the parallel layout or on how
// far a batch is padded: a tensor viewed as (rows, cols) has local element
// (r, c) at global index
//   dropout_global_row(site, r) · global_cols + col_offset + c.
struct DropoutSite {
  uint64_t seed = 0;
  uint64_t step = 0;
  uint64_t site = 0;                // which dropout in the model
  int64_t row_offset = 0;           // global row (or sequence, see below) of local row 0
  int64_t global_cols = 0;          // 0: the local number of columns
  int64_t col_offset = 0;           // first global column held here (tensor parallel)
  // Rows that are positions of sequences: local row r is position
  // r % rows_per_sequence of global sequence row_offset + r / rows_per_sequence,
  // and every sequence owns position_stride rows of the index space, so a
  // position keeps its mask whatever length its batch is padded to (each
  // data-parallel rank pads to its own longest sentence). 0: plain rows.
  int64_t rows_per_sequence = 0;
  int64_t position_stride = 0;      // >= rows_per_sequence
  // A sequence-parallel shard: local row 0 is row first_row of the
  // micro-batch's flattened rows, and the local rows may start and end
  // inside sequences. The formula below reads r as first_row + r. Otherwise
  // the rows must be whole sequences and first_row 0.
  bool row_shard = false;
  int64_t first_row = 0;
};

// The global row of local row r (see DropoutSite).
WEFT_HOST_DEVICE inline int64_t dropout_global_row(const DropoutSite& s, int64_t r) {
  r += s.first_row;
  if (s.rows_per_sequence == 0) return s.row_offset + r;
  const int64_t sequence = r / s.rows_per_sequence;
  return (s.row_offset + sequence) * s.position_stride + (r - sequence * s.rows_per_sequence);
}

// y = x · keep / (1 − p) with keep ~ Bernoulli(1 − p); y may alias x. p = 0 copies.
void dropout_forward(const Tensor& x, double p, const DropoutSite& site, Tensor& y);
// dx = dy · keep / (1 − p) with the same mask; dx may alias dy.
void dropout_backward(const Tensor& dy, double p, const DropoutSite& site, Tensor& dx);

}  // namespace weft::ops
