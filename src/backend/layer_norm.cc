#include "weft/backend/layer_norm.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd) {
  const char* op = "layer_norm_forward";
  detail::check_norm_input(op, x, gamma);
  detail::check_same(op, "beta", beta, gamma);
  WEFT_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  detail::check_same(op, "y", y, x);
  detail::check_row_stats(op, "mean", mean, x);
  detail::check_row_stats(op, "rstd", rstd, x);
  WEFT_DISPATCH(x.device(), layer_norm_forward, x, gamma, beta, eps, y, mean, rstd);
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const char* op = "layer_norm_backward";
  detail::check_norm_input(op, x, gamma);
  detail::check_same(op, "dy", dy, x);
  detail::check_row_stats(op, "mean", mean, x);
  detail::check_row_stats(op, "rstd", rstd, x);
  detail::check_same(op, "dx", dx, x);
  detail::check_grad(op, "dgamma", dgamma, gamma);
  detail::check_grad(op, "dbeta", dbeta, gamma);
  WEFT_DISPATCH(x.device(), layer_norm_backward, dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
}

void add_layer_norm_forward(const Tensor& a, const Tensor& b, const Tensor& gamma,
                            const Tensor& beta, double eps, Tensor& sum, Tensor& y, Tensor& mean,
                            Tensor& rstd) {
  const char* op = "add_layer_norm_forward";
  detail::check_norm_input(op, a, gamma, "a");
  detail::check_same(op, "b", b, a);
  detail::check_same(op, "beta", beta, gamma);
  WEFT_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  detail::check_same(op, "sum", sum, a);
  detail::check_same(op, "y", y, a);
  detail::check_row_stats(op, "mean", mean, a);
  detail::check_row_stats(op, "rstd", rstd, a);
  WEFT_DISPATCH(a.device(), add_layer_norm_forward, a, b, gamma, beta, eps, sum, y, mean, rstd);
}

}  // namespace weft::ops
