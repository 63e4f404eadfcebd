#include "weft/backend/embedding.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// The shape of one embedded row per id: ids (...) -> (..., D).
Shape embedded_shape(const Tensor& ids, int64_t d) {
  Shape s = ids.shape();
  s.push_back(d);
  return s;
}

void check_table(const char* op, const char* arg, const Tensor& table) {
  detail::check_floating(op, arg, table);
  WEFT_CHECK(table.rank() == 2, op, ": ", arg, " must be (V,D), got ", table.describe());
}

// In backward the table is a gradient: f32 for bf16 rows (main gradients).
void check_rows_like(const char* op, const char* arg, const Tensor& t, const Tensor& table,
                     const Shape& shape, bool table_is_grad) {
  detail::check_shape(op, arg, t, shape);
  WEFT_CHECK(table_is_grad ? detail::grad_dtype_ok(table.dtype(), t.dtype())
                           : t.dtype() == table.dtype(),
             op, ": ", arg, " must have the table's dtype ", dtype_name(table.dtype()),
             table_is_grad && table.dtype() == DType::F32 ? " (or bf16)" : "", ", got ",
             t.describe());
  detail::check_device(op, arg, t, table.device());
}

// x (B,T,D) against a positions table (Tmax,D) read from row `start`.
void check_positions(const char* op, const char* x_arg, const Tensor& x, const Tensor& table,
                     int64_t start, bool table_is_grad = false) {
  check_table(op, "table", table);
  detail::check_floating(op, x_arg, x);
  WEFT_CHECK(x.rank() == 3, op, ": ", x_arg, " must be (B,T,D), got ", x.describe());
  check_rows_like(op, x_arg, x, table, {x.dim(0), x.dim(1), table.dim(1)}, table_is_grad);
  WEFT_CHECK(start >= 0 && start + x.dim(1) <= table.dim(0), op, ": positions [", start, ", ",
             start + x.dim(1), ") are outside the table's ", table.dim(0), " rows");
}

// A table (V,D) (`table_arg`), ids (B,T) i32 on its device, and rows
// (B,T,D) of the table's dtype (`rows_arg`): the embedding's forward (rows =
// out) and backward (rows = dout).
void check_embedding(const char* op, const char* table_arg, const Tensor& table, const Tensor& ids,
                     int64_t row_offset, const char* rows_arg, const Tensor& rows,
                     bool table_is_grad = false) {
  check_table(op, table_arg, table);
  detail::check_ids(op, "ids", ids);
  detail::check_device(op, "ids", ids, table.device());
  WEFT_CHECK(row_offset >= 0, op, ": row_offset must be >= 0, got ", row_offset);
  check_rows_like(op, rows_arg, rows, table, embedded_shape(ids, table.dim(1)), table_is_grad);
}

}  // namespace

void embedding_forward(const Tensor& table, const Tensor& ids, double scale, int64_t row_offset,
                       Tensor& out) {
  check_embedding("embedding_forward", "table", table, ids, row_offset, "out", out);
  WEFT_DISPATCH(table.device(), embedding_forward, table, ids, scale, row_offset, out);
}

void embedding_backward(const Tensor& dout, const Tensor& ids, double scale, int64_t row_offset,
                        Tensor& dtable) {
  check_embedding("embedding_backward", "dtable", dtable, ids, row_offset, "dout", dout,
                  /*table_is_grad=*/true);
  WEFT_DISPATCH(dtable.device(), embedding_backward, dout, ids, scale, row_offset, dtable);
}

void add_positions(const Tensor& table, int64_t start, Tensor& x) {
  check_positions("add_positions", "x", x, table, start);
  WEFT_DISPATCH(table.device(), add_positions, table, start, x);
}

void add_positions_backward(const Tensor& dx, int64_t start, Tensor& dtable) {
  check_positions("add_positions_backward", "dx", dx, dtable, start, /*table_is_grad=*/true);
  WEFT_DISPATCH(dtable.device(), add_positions_backward, dx, start, dtable);
}

void sinusoidal_positions(Tensor& table, SinusoidLayout layout) {
  check_table("sinusoidal_positions", "table", table);
  WEFT_DISPATCH(table.device(), sinusoidal_positions, table, layout);
}

}  // namespace weft::ops
