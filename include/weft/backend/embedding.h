#pragma once
#include "weft/tensor/tensor.h"

namespace weft::ops {

// Token embedding over a (possibly vocabulary-parallel) table shard holding
// rows [row_offset, row_offset + V) of the full table:
//   ids (...) i32   table (V,D)   out (..., D)
//   out[n] = scale · table[ids[n] − row_offset]  when the id is in the shard, else 0
void embedding_forward(const Tensor& table, const Tensor& ids, double scale, int64_t row_offset,
                       Tensor& out);
// dtable[ids[n] − row_offset] += scale · dout[n]   for ids in the shard
void embedding_backward(const Tensor& dout, const Tensor& ids, double scale, int64_t row_offset,
                        Tensor& dtable);

// Positions: x (B,T,D) in place, table (Tmax,D), rows start..start+T−1 used.
//   x[b,t] += table[start + t]
void add_positions(const Tensor& table, int64_t start, Tensor& x);
//   dtable[start + t] += Σ_b dx[b,t]
void add_positions_backward(const Tensor& dx, int64_t start, Tensor& dtable);
// Fills table (Tmax,D) with the 2017 paper's encoding:
//   table[p, 2i] = sin(p / 10000^(2i/D)),  table[p, 2i+1] = cos(p / 10000^(2i/D))
void sinusoidal_positions(Tensor& table);

}  // namespace weft::ops
