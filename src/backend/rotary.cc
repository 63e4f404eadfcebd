#include "weft/backend/rotary.h"

#include <cmath>

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// in (B,T,H,Dh) with Dh even, named `arg`; out like it; the positions and
// the base of the frequencies.
void check_rotary(const char* op, const char* arg, const Tensor& in, int64_t start, double theta,
                  const char* out_arg, const Tensor& out) {
  detail::check_floating(op, arg, in);
  WEFT_CHECK(in.rank() == 4, op, ": ", arg, " must be (B,T,H,Dh), got ", in.describe());
  WEFT_CHECK(in.dim(3) % 2 == 0, op, ": ", arg,
             "'s head size Dh must be even (pairs i and i + Dh/2 rotate together), got ",
             in.describe());
  WEFT_CHECK(start >= 0, op, ": start must be >= 0, got ", start);
  WEFT_CHECK(std::isfinite(theta) && theta > 0.0, op, ": theta must be a positive number, got ",
             theta);
  detail::check_same(op, out_arg, out, in);
}
}  // namespace

void rotary_forward(const Tensor& x, int64_t start, double theta, Tensor& y) {
  check_rotary("rotary_forward", "x", x, start, theta, "y", y);
  WEFT_DISPATCH(x.device(), rotary_forward, x, start, theta, y);
}

void rotary_backward(const Tensor& dy, int64_t start, double theta, Tensor& dx) {
  check_rotary("rotary_backward", "dy", dy, start, theta, "dx", dx);
  WEFT_DISPATCH(dy.device(), rotary_backward, dy, start, theta, dx);
}

}  // namespace weft::ops
