#pragma once
// Sequence parallelism (Megatron-LM, Korthikanti et al. 2022): between the
// tensor-parallel sublayers — layer norms, dropout, residual adds — every
// rank of the TP group holds only its share of the token rows instead of all
// of them. A sublayer is entered through an all-gather of the rows and left
// through a reduce-scatter of its partial outputs, which together move what
// the all-reduce they replace moved, and activation memory between the
// sublayers falls by tp.
//
// The rows are the (B·T) tokens of a micro-batch, flattened in batch-major
// order, padded with zero rows to a multiple of tp: rank r holds rows
// [r·n, (r+1)·n), n = padded / tp. Padding rows pass through norms and
// residuals as zeros and their gradients are zero, so they change nothing.
// Parameters whose gradients each rank then computes from its rows alone
// (layer norms) carry Parameter::sequence_parallel_partial; the trainer sums
// them over the group once per step.

#include <cstdint>

#include "weft/comm/communicator.h"
#include "weft/tensor/tensor.h"

namespace weft {

struct SequenceShard {
  int64_t seq = 0;          // T: positions per sequence
  int64_t rows = 0;         // B·T
  int64_t padded_rows = 0;  // rows rounded up to a multiple of tp
  int64_t local_rows = 0;   // padded_rows / tp: what each rank holds
  int64_t first_row = 0;    // of this rank, in the flattened rows
};

SequenceShard sequence_shard(int64_t batch, int64_t seq, const Communicator& tp);

// Scratch the two collectives need when the rows are padded; owned by the caller.
struct SequenceStaging {
  Tensor rows;  // (padded_rows, d)
};

// What a stack's blocks share for the boundaries of their sublayers, one
// sublayer at a time: the gathered input (gathered again for backward rather
// than kept, as Megatron-LM does), the partial output or input gradient, the
// gathered output gradient.
struct SequenceScratch {
  Tensor gathered, partial, dfull;
  SequenceStaging staging;
};

// Forward entry (backward exit): local (local_rows, d) of every rank ->
// full (B,T,d), sized here.
void gather_sequence(Communicator& tp, const SequenceShard& s, const Tensor& local, Tensor& full,
                     SequenceStaging& staging);
// Forward exit (backward entry): partial (B,T,d), this rank's part of a sum
// over the group -> local (local_rows, d) of the sum, sized here.
void scatter_sequence(Communicator& tp, const SequenceShard& s, const Tensor& partial,
                      Tensor& local, SequenceStaging& staging);

}  // namespace weft
