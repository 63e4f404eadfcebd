#include "weft/backend/rms_norm.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void rms_norm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd) {
  const char* op = "rms_norm_forward";
  detail::check_norm_input(op, x, gamma);
  WEFT_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
  detail::check_same(op, "y", y, x);
  detail::check_row_stats(op, "rstd", rstd, x);
  WEFT_DISPATCH(x.device(), rms_norm_forward, x, gamma, eps, y, rstd);
}

void rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                       Tensor& dx, Tensor& dgamma) {
  const char* op = "rms_norm_backward";
  detail::check_norm_input(op, x, gamma);
  detail::check_same(op, "dy", dy, x);
  detail::check_row_stats(op, "rstd", rstd, x);
  detail::check_same(op, "dx", dx, x);
  detail::check_grad(op, "dgamma", dgamma, gamma);
  WEFT_DISPATCH(x.device(), rms_norm_backward, dy, x, gamma, rstd, dx, dgamma);
}

}  // namespace weft::ops
