#include "weft/backend/elementwise.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// bias (C) against y (N...,C): the bias runs along y's last dimension.
void check_bias(const char* op, const char* bias_arg, const Tensor& bias, const char* y_arg,
                const Tensor& y, bool bias_is_grad = false) {
  detail::check_floating(op, y_arg, y);
  WEFT_CHECK(y.rank() >= 1, op, ": ", y_arg, " must have at least one dimension, got ",
             y.describe());
  detail::check_floating(op, bias_arg, bias);
  detail::check_shape(op, bias_arg, bias, {y.dim(-1)});
  WEFT_CHECK(bias_is_grad ? detail::grad_dtype_ok(bias.dtype(), y.dtype())
                          : bias.dtype() == y.dtype(),
             op, ": ", bias_arg, " must have ", y_arg, "'s dtype",
             bias_is_grad && y.dtype() == DType::BF16 ? " (or f32)" : "", ", got ",
             bias.describe(), " and ", y.describe());
  detail::check_device(op, bias_arg, bias, y.device());
}
}  // namespace

void fill(Tensor& x, double value) {
  detail::check_floating("fill", "x", x);
  WEFT_DISPATCH(x.device(), fill, x, value);
}

void scale(Tensor& x, double alpha) {
  detail::check_floating("scale", "x", x);
  WEFT_DISPATCH(x.device(), scale, x, alpha);
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  detail::check_floating("axpy", "x", x);
  detail::check_same("axpy", "y", y, x);
  WEFT_DISPATCH(x.device(), axpy, alpha, x, y);
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  detail::check_floating("add", "a", a);
  detail::check_same("add", "b", b, a);
  detail::check_same("add", "out", out, a);
  WEFT_DISPATCH(a.device(), add, a, b, out);
}

void add_bias(const Tensor& bias, Tensor& y) {
  check_bias("add_bias", "bias", bias, "y", y);
  WEFT_DISPATCH(y.device(), add_bias, bias, y);
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  check_bias("bias_backward", "dbias", dbias, "dy", dy, /*bias_is_grad=*/true);
  WEFT_DISPATCH(dy.device(), bias_backward, dy, dbias);
}

double sum_squares(const Tensor& x) {
  detail::check_floating("sum_squares", "x", x);
  double result = 0.0;
  WEFT_DISPATCH(x.device(), sum_squares, x, result);
  return result;
}

std::vector<double> sum_squares_many(const std::vector<Tensor>& xs) {
  std::vector<double> results(xs.size(), 0.0);
  if (xs.empty()) return results;
  for (const Tensor& x : xs) {
    detail::check_floating("sum_squares_many", "a tensor", x);
    detail::check_device("sum_squares_many", "every tensor", x, xs.front().device());
  }
  WEFT_DISPATCH(xs.front().device(), sum_squares_many, xs, results);
  return results;
}

double sum(const Tensor& x) {
  detail::check_floating("sum", "x", x);
  double result = 0.0;
  WEFT_DISPATCH(x.device(), sum, x, result);
  return result;
}

void convert(const Tensor& src, Tensor& dst) {
  detail::check_floating("convert", "src", src);
  detail::check_floating("convert", "dst", dst);
  WEFT_CHECK(dst.shape() == src.shape(), "convert: dst must have shape ", shape_str(src.shape()),
             ", got ", dst.describe());
  detail::check_device("convert", "dst", dst, src.device());
  WEFT_DISPATCH(src.device(), convert, src, dst);
}

}  // namespace weft::ops
