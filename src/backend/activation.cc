#include "weft/backend/activation.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void activation_forward(Activation act, const Tensor& x, Tensor& y) {
  detail::check_floating("activation_forward", "x", x);
  detail::check_same("activation_forward", "y", y, x);
  WEFT_DISPATCH(x.device(), activation_forward, act, x, y);
}

void activation_backward(Activation act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  detail::check_floating("activation_backward", "x", x);
  detail::check_same("activation_backward", "dy", dy, x);
  detail::check_same("activation_backward", "dx", dx, x);
  WEFT_DISPATCH(x.device(), activation_backward, act, x, dy, dx);
}

}  // namespace weft::ops
