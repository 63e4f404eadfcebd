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
// Where the sines and cosines of the 2017 paper's encoding sit, with the
// angle a(p, i) = p / 10000^(2i/D):
//   Interleaved  table[p, 2i] = sin a(p, i),  table[p, 2i+1] = cos a(p, i)
//   Halves       table[p, i] = sin a(p, i) for i < H = ceil(D/2),
//                table[p, H + i] = cos a(p, i)  (Marian, fairseq, tensor2tensor)
enum class SinusoidLayout { Interleaved, Halves };

// Fills table (Tmax,D) with the encoding in `layout`.
void sinusoidal_positions(Tensor& table, SinusoidLayout layout = SinusoidLayout::Interleaved);

}  // namespace weft::ops
