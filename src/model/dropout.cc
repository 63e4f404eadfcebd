#include "weft/model/dropout.h"

#include "weft/model/sequence_parallel.h"
#include "weft/tensor/counter_rng.h"

namespace weft {

Dropout::Dropout(const std::string& name, double p) : site_id_(rng::hash_name(name.c_str())), p_(p) {}

ops::DropoutSite Dropout::site(const StepContext& ctx, int64_t seq, int64_t global_cols,
                               int64_t col_offset) const {
  ops::DropoutSite s;
  s.seed = ctx.seed;
  s.step = ctx.step;
  s.site = site_id_;
  // Keyed by (global sentence, position): the same whatever each rank pads to.
  s.row_offset = ctx.batch_offset;
  s.rows_per_sequence = seq;
  s.position_stride = kMaxPositions;
  s.global_cols = global_cols;
  s.col_offset = col_offset;
  // A sequence-parallel region holds a shard of the flattened rows.
  if (ctx.sequence_shard != nullptr) {
    s.row_shard = true;
    s.first_row = ctx.sequence_shard->first_row;
  }
  return s;
}

void Dropout::forward(Tensor& x, const StepContext& ctx, int64_t seq, int64_t global_cols,
                      int64_t col_offset) const {
  if (active(ctx)) ops::dropout_forward(x, p_, site(ctx, seq, global_cols, col_offset), x);
}

void Dropout::backward(Tensor& dx, const StepContext& ctx, int64_t seq, int64_t global_cols,
                       int64_t col_offset) const {
  if (active(ctx)) ops::dropout_backward(dx, p_, site(ctx, seq, global_cols, col_offset), dx);
}

}  // namespace weft
