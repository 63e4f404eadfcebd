#include "weft/backend/swiglu.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& h) {
  const char* op = "swiglu_forward";
  detail::check_floating(op, "gate", gate);
  detail::check_same(op, "up", up, gate);
  detail::check_same(op, "h", h, gate);
  WEFT_DISPATCH(gate.device(), swiglu_forward, gate, up, h);
}

void swiglu_backward(const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& dgate,
                     Tensor& dup) {
  const char* op = "swiglu_backward";
  detail::check_floating(op, "gate", gate);
  detail::check_same(op, "up", up, gate);
  detail::check_same(op, "dh", dh, gate);
  detail::check_same(op, "dgate", dgate, gate);
  detail::check_same(op, "dup", dup, gate);
  // Both outputs are written element by element from the same inputs: one
  // buffer cannot hold both.
  WEFT_CHECK(dgate.numel() == 0 || !detail::overlaps(dgate, dup), op,
             ": dgate and dup overlap; they must be separate buffers");
  WEFT_DISPATCH(gate.device(), swiglu_backward, dh, gate, up, dgate, dup);
}

}  // namespace weft::ops
