#include "weft/backend/linear.h"

#include <string>

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {

// `t` is `like`'s leading dimensions followed by `last`, in `like`'s dtype and
// on its device: y beside x, pre and dpre beside dy.
void check_rows_like(const char* op, const char* arg, const Tensor& t, const Tensor& like,
                     int64_t last) {
  Shape shape(like.shape().begin(), like.shape().end() - 1);
  shape.push_back(last);
  WEFT_CHECK(
      t.defined() && t.shape() == shape && t.dtype() == like.dtype() && t.device() == like.device(),
      op, ": ", arg, " must be ", dtype_name(like.dtype()), shape_str(shape), " on ",
      device_name(like.device()), ", got ", t.defined() ? t.describe() : "undefined");
}

// w (out,in), in x's dtype and on its device.
void check_weight(const char* op, const Tensor& w, const Tensor& x) {
  detail::check_floating(op, "w", w);
  WEFT_CHECK(w.rank() == 2, op, ": w must be (out,in), got ", w.describe());
  WEFT_CHECK(w.dtype() == x.dtype(), op, ": w must have the dtype of x (", dtype_name(x.dtype()),
             "), got ", w.describe());
  detail::check_device(op, "w", w, x.device());
}

// Two outputs, or an input and an output, that must not share memory: the
// kernels read one after writing the other.
void check_distinct(const char* op, const char* a_arg, const Tensor& a, const char* b_arg,
                    const Tensor& b) {
  WEFT_CHECK(a.numel() == 0 || a.raw() != b.raw(), op, ": ", b_arg, " must not alias ", a_arg);
}

// Rows (N...,K) `arg` against w: (out,K) for the forward (w_dim 1: x's
// features are w's inputs), (K,in) for the backward (w_dim 0: dy's features
// are w's outputs).
void check_rows_against_weight(const char* op, const char* arg, const Tensor& rows,
                               const Tensor& w, int w_dim) {
  detail::check_floating(op, arg, rows);
  WEFT_CHECK(rows.rank() >= 1, op, ": ", arg, " must be (N...,", w_dim == 1 ? "in" : "out",
             "), got ", rows.describe());
  check_weight(op, w, rows);
  const std::string expected = w_dim == 1 ? "(out," + std::to_string(rows.dim(-1)) + ")"
                                          : "(" + std::to_string(rows.dim(-1)) + ",in)";
  WEFT_CHECK(w.dim(w_dim) == rows.dim(-1), op, ": w must be ", expected, " for ", arg, " ",
             rows.describe(), ", got ", w.describe());
}

// A parameter gradient (`shape`) of dy's values: dy's dtype, or f32 under
// bf16 dy; on dy's device.
void check_parameter_grad(const char* op, const char* arg, const Tensor& grad, const Tensor& dy,
                          const Shape& shape) {
  WEFT_CHECK(grad.defined() && grad.shape() == shape &&
                 detail::grad_dtype_ok(grad.dtype(), dy.dtype()) && grad.device() == dy.device(),
             op, ": ", arg, " must be ", dtype_name(dy.dtype()),
             dy.dtype() == DType::BF16 ? " (or f32)" : "", shape_str(shape), " on ",
             device_name(dy.device()), ", got ", grad.defined() ? grad.describe() : "undefined");
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu, Tensor& pre,
                    Tensor& y) {
  const char* op = "linear_forward";
  check_rows_against_weight(op, "x", x, w, 1);
  const int64_t out = w.dim(0);
  if (bias.defined()) {
    WEFT_CHECK(
        bias.shape() == Shape{out} && bias.dtype() == x.dtype() && bias.device() == x.device(), op,
        ": bias must be undefined or ", dtype_name(x.dtype()), "[", out, "] on ",
        device_name(x.device()), ", got ", bias.describe());
  }
  check_rows_like(op, "y", y, x, out);
  if (gelu) {
    WEFT_CHECK(pre.defined(), op, ": pre must be defined when gelu is true (backward needs it)");
    detail::check_same(op, "pre", pre, y);
    check_distinct(op, "y", y, "pre", pre);
  } else {
    WEFT_CHECK(!pre.defined(), op, ": pre must be undefined when gelu is false, got ",
               pre.describe());
  }
  WEFT_DISPATCH(x.device(), linear_forward, x, w, bias, gelu, pre, y);
}

void linear_backward_gelu(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dpre) {
  const char* op = "linear_backward_gelu";
  check_rows_against_weight(op, "dy", dy, w, 0);
  check_rows_like(op, "pre", pre, dy, w.dim(1));
  detail::check_same(op, "dpre", dpre, pre);
  check_distinct(op, "pre", pre, "dpre", dpre);
  check_distinct(op, "dy", dy, "dpre", dpre);
  WEFT_DISPATCH(dy.device(), linear_backward_gelu, dy, w, pre, dpre);
}

void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dweight, Tensor& dbias) {
  const char* op = "linear_backward_weight";
  detail::check_floating(op, "dy", dy);
  detail::check_floating(op, "x", x);
  WEFT_CHECK(dy.rank() >= 1 && x.rank() >= 1, op,
             ": dy and x must be (N...,out) and (N...,in), got ", dy.describe(), " and ",
             x.describe());
  WEFT_CHECK(x.dtype() == dy.dtype(), op, ": x must have the dtype of dy (", dtype_name(dy.dtype()),
             "), got ", x.describe());
  detail::check_device(op, "x", x, dy.device());
  const int64_t out = dy.dim(-1), in = x.dim(-1);
  // Rows as gemm counts them: none when the last dimension is empty.
  const int64_t dy_rows = out == 0 ? 0 : dy.numel() / out, x_rows = in == 0 ? 0 : x.numel() / in;
  WEFT_CHECK(dy_rows == x_rows, op, ": dy and x must have as many rows, got ", dy.describe(),
             " and ", x.describe());
  check_parameter_grad(op, "dweight", dweight, dy, {out, in});
  if (dbias.defined()) check_parameter_grad(op, "dbias", dbias, dy, {out});
  WEFT_DISPATCH(dy.device(), linear_backward_weight, dy, x, dweight, dbias);
}

}  // namespace weft::ops
