#include "weft/backend/attention.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
void check_head_layout(const char* op, const char* arg, const Tensor& t) {
  detail::check_floating(op, arg, t);
  WEFT_CHECK(t.rank() == 4, op, ": ", arg, " must be (B,T,H,Dh), got ", t.describe());
}

// q (B,Tq,H,Dh), k and v (B,Tk,H,Dh), probs (B,H,Tq,Tk): one dtype, one device.
void check_operands(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& probs) {
  check_head_layout(op, "q", q);
  check_head_layout(op, "k", k);
  const int64_t B = q.dim(0), Tq = q.dim(1), H = q.dim(2), Dh = q.dim(3), Tk = k.dim(1);
  detail::check_shape(op, "k", k, {B, Tk, H, Dh});
  WEFT_CHECK(k.dtype() == q.dtype(), op, ": k must have q's dtype, got ", k.describe(), " and ",
             q.describe());
  detail::check_device(op, "k", k, q.device());
  detail::check_same(op, "v", v, k);
  detail::check_shape(op, "probs", probs, {B, H, Tq, Tk});
  WEFT_CHECK(probs.dtype() == q.dtype(), op, ": probs must have q's dtype, got ",
             probs.describe());
  detail::check_device(op, "probs", probs, q.device());
}
}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out) {
  const char* op = "attention_forward";
  check_operands(op, q, k, v, probs);
  if (key_valid.defined()) {
    detail::check_ids(op, "key_valid", key_valid);
    detail::check_shape(op, "key_valid", key_valid, {q.dim(0), k.dim(1)});
    detail::check_device(op, "key_valid", key_valid, q.device());
  }
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
