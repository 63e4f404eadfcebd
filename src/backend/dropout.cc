#include "weft/backend/dropout.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
void check_dropout(const char* op, const char* in_arg, const Tensor& in, double p,
                   const DropoutSite& site, const char* out_arg, const Tensor& out) {
  detail::check_floating(op, in_arg, in);
  WEFT_CHECK(in.rank() >= 1, op, ": ", in_arg, " must have at least one dimension, got ",
             in.describe());
  detail::check_same(op, out_arg, out, in);
  WEFT_CHECK(p >= 0.0 && p < 1.0, op, ": p must be in [0, 1), got ", p);
  const int64_t cols = in.dim(-1);
  WEFT_CHECK(site.row_offset >= 0 && site.col_offset >= 0 && site.global_cols >= 0, op,
             ": row_offset, col_offset and global_cols must be >= 0, got ", site.row_offset,
             ", ", site.col_offset, ", ", site.global_cols);
  WEFT_CHECK(site.rows_per_sequence >= 0 && (site.rows_per_sequence == 0 ||
                                             site.position_stride >= site.rows_per_sequence),
             op, ": rows_per_sequence must be >= 0 and at most position_stride, got ",
             site.rows_per_sequence, " and ", site.position_stride);
  const int64_t rows = cols == 0 ? 0 : in.numel() / cols;
  WEFT_CHECK(site.first_row >= 0 && (site.row_shard || site.first_row == 0), op,
             ": first_row must be >= 0, and 0 unless the rows are a shard; got ", site.first_row);
  WEFT_CHECK(site.row_shard || site.rows_per_sequence == 0 || rows % site.rows_per_sequence == 0,
             op, ": ", rows, " rows are not whole sequences of ", site.rows_per_sequence);
  const int64_t global_cols = site.global_cols == 0 ? cols : site.global_cols;
  WEFT_CHECK(site.col_offset + cols <= global_cols, op, ": local columns [", site.col_offset,
             ", ", site.col_offset + cols, ") exceed global_cols ", global_cols);
}
}  // namespace

void dropout_forward(const Tensor& x, double p, const DropoutSite& site, Tensor& y) {
  check_dropout("dropout_forward", "x", x, p, site, "y", y);
  WEFT_DISPATCH(x.device(), dropout_forward, x, p, site, y);
}

void dropout_backward(const Tensor& dy, double p, const DropoutSite& site, Tensor& dx) {
  check_dropout("dropout_backward", "dy", dy, p, site, "dx", dx);
  WEFT_DISPATCH(dy.device(), dropout_backward, dy, p, site, dx);
}

}  // namespace weft::ops
