#include "weft/backend/attention.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// q, k, v as check_qkv; probs (B,H,Tq,Tk) of q's dtype on q's device.
void check_operands(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& probs) {
  detail::check_qkv(op, q, k, v);
  detail::check_shape(op, "probs", probs, {q.dim(0), q.dim(2), q.dim(1), k.dim(1)});
  WEFT_CHECK(probs.dtype() == q.dtype(), op, ": probs must have q's dtype, got ",
             probs.describe());
  detail::check_device(op, "probs", probs, q.device());
}
}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out) {
  const char* op = "attention_forward";
  check_operands(op, q, k, v, probs);
  detail::check_key_valid(op, key_valid, q, k);
  detail::check_same(op, "out", out, q);
  WEFT_DISPATCH(q.device(), attention_forward, q, k, v, key_valid, causal, scale, probs, out);
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs,
                        const Tensor& dout, double scale, Tensor& dprobs, Tensor& dq, Tensor& dk,
                        Tensor& dv) {
  const char* op = "attention_backward";
  check_operands(op, q, k, v, probs);
  detail::check_same(op, "dout", dout, q);
  detail::check_same(op, "dprobs", dprobs, probs);
  detail::check_same(op, "dq", dq, q);
  detail::check_same(op, "dk", dk, k);
  detail::check_same(op, "dv", dv, v);
  WEFT_DISPATCH(q.device(), attention_backward, q, k, v, probs, dout, scale, dprobs, dq, dk, dv);
}

}  // namespace weft::ops
