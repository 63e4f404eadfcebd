#include "weft/model/sequence_parallel.h"

#include "weft/tensor/error.h"

namespace weft {

SequenceShard sequence_shard(int64_t batch, int64_t seq, const Communicator& tp) {
  SequenceShard s;
  const int64_t n = tp.size();
  s.seq = seq;
  s.rows = batch * seq;
  s.padded_rows = (s.rows + n - 1) / n * n;
  s.local_rows = s.padded_rows / n;
  s.first_row = tp.rank() * s.local_rows;
  return s;
}

void gather_sequence(Communicator& tp, const SequenceShard& s, const Tensor& local, Tensor& full,
                     SequenceStaging& staging) {
  WEFT_CHECK(local.rank() == 2 && local.dim(0) == s.local_rows, "gather_sequence: expected (",
             s.local_rows, ", d) rows, got ", local.describe());
  const int64_t d = local.dim(1);
  Tensor::ensure(full, {s.rows / s.seq, s.seq, d}, local.dtype(), local.device());
  if (s.padded_rows == s.rows) {
    Tensor flat = full.view({s.rows, d});
    tp.all_gather(local, flat);
    return;
  }
  Tensor::ensure(staging.rows, {s.padded_rows, d}, local.dtype(), local.device());
  tp.all_gather(local, staging.rows);
  full.view({s.rows, d}).copy_from(staging.rows.rows(0, s.rows));
}

void scatter_sequence(Communicator& tp, const SequenceShard& s, const Tensor& partial,
                      Tensor& local, SequenceStaging& staging) {
  WEFT_CHECK(partial.numel() % s.rows == 0 && partial.dim(-1) * s.rows == partial.numel(),
             "scatter_sequence: expected ", s.rows, " rows, got ", partial.describe());
  const int64_t d = partial.dim(-1);
  Tensor::ensure(local, {s.local_rows, d}, partial.dtype(), partial.device());
  if (s.padded_rows == s.rows) {
    tp.reduce_scatter(partial.view({s.rows, d}), local, ReduceOp::Sum);
    return;
  }
  Tensor::ensure(staging.rows, {s.padded_rows, d}, partial.dtype(), partial.device());
  staging.rows.rows(0, s.rows).copy_from(partial.view({s.rows, d}));
  staging.rows.rows(s.rows, s.padded_rows).zero();
  tp.reduce_scatter(staging.rows, local, ReduceOp::Sum);
}

}  // namespace weft
