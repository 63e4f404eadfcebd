#include "weft/backend/layer_norm.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// The per-row statistics of x (N...,D): shape (N) with N the number of rows,
// or x's leading dimensions; x's dtype and device.
void check_stats(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
  const Shape leading(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = x.dim(-1) == 0 ? 0 : x.numel() / x.dim(-1);
  // Mixed precision keeps the statistics of bf16 rows in f32.
  const bool dtype_ok = t.defined() && (t.dtype() == x.dtype() ||
                                        (x.dtype() == DType::BF16 && t.dtype() == DType::F32));
  WEFT_CHECK(dtype_ok && (t.shape() == Shape{rows} || t.shape() == leading) &&
                 t.device() == x.device(),
             op, ": ", arg, " must be ", dtype_name(x.dtype()), "[", rows, "] on ",
             device_name(x.device()), " (one entry per row of ", x.describe(), "), got ",
             t.describe());
}

// x (N...,D) is the input the statistics are taken over, named `arg`.
void check_input(const char* op, const Tensor& x, const Tensor& gamma, const char* arg = "x") {
  detail::check_floating(op, arg, x);
  WEFT_CHECK(x.rank() >= 1, op, ": ", arg, " must have at least one dimension, got ", x.describe());
  detail::check_floating(op, "gamma", gamma);
  detail::check_shape(op, "gamma", gamma, {x.dim(-1)});
  WEFT_CHECK(gamma.dtype() == x.dtype(), op, ": gamma must have ", arg, "'s dtype, got ",
             gamma.describe(), " and ", x.describe());
  detail::check_device(op, "gamma", gamma, x.device());
}
}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd) {
  const char* op = "layer_norm_forward";
  check_input(op, x, gamma);
  detail::check_same(op, "beta", beta, gamma);
  WEFT_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  detail::check_same(op, "y", y, x);
  check_stats(op, "mean", mean, x);
  check_stats(op, "rstd", rstd, x);
  WEFT_DISPATCH(x.device(), layer_norm_forward, x, gamma, beta, eps, y, mean, rstd);
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const char* op = "layer_norm_backward";
  check_input(op, x, gamma);
  detail::check_same(op, "dy", dy, x);
  check_stats(op, "mean", mean, x);
  check_stats(op, "rstd", rstd, x);
  detail::check_same(op, "dx", dx, x);
  detail::check_grad(op, "dgamma", dgamma, gamma);
  detail::check_grad(op, "dbeta", dbeta, gamma);
  WEFT_DISPATCH(x.device(), layer_norm_backward, dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
}

void add_layer_norm_forward(const Tensor& a, const Tensor& b, const Tensor& gamma,
                            const Tensor& beta, double eps, Tensor& sum, Tensor& y, Tensor& mean,
                            Tensor& rstd) {
  const char* op = "add_layer_norm_forward";
  check_input(op, a, gamma, "a");
  detail::check_same(op, "b", b, a);
  detail::check_same(op, "beta", beta, gamma);
  WEFT_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  detail::check_same(op, "sum", sum, a);
  detail::check_same(op, "y", y, a);
  check_stats(op, "mean", mean, a);
  check_stats(op, "rstd", rstd, a);
  WEFT_DISPATCH(a.device(), add_layer_norm_forward, a, b, gamma, beta, eps, sum, y, mean, rstd);
}

}  // namespace weft::ops
