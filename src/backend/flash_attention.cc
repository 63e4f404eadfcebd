#include "weft/backend/flash_attention.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
void check_head_layout(const char* op, const char* arg, const Tensor& t) {
  detail::check_floating(op, arg, t);
  WEFT_CHECK(t.rank() == 4, op, ": ", arg, " must be (B,T,H,Dh), got ", t.describe());
}

// q (B,Tq,H,Dh), k and v (B,Tk,H,Dh) of one dtype, lse (B,H,Tq) f32,
// key_valid (B,Tk) i32 or undefined: all on q's device.
void check_operands(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& key_valid, const Tensor& lse) {
  check_head_layout(op, "q", q);
  check_head_layout(op, "k", k);
  const int64_t B = q.dim(0), Tq = q.dim(1), H = q.dim(2), Dh = q.dim(3), Tk = k.dim(1);
  detail::check_shape(op, "k", k, {B, Tk, H, Dh});
  WEFT_CHECK(k.dtype() == q.dtype(), op, ": k must have q's dtype, got ", k.describe(), " and ",
             q.describe());
  detail::check_device(op, "k", k, q.device());
  detail::check_same(op, "v", v, k);
  detail::check_shape(op, "lse", lse, {B, H, Tq});
  WEFT_CHECK(lse.dtype() == DType::F32, op, ": lse must be f32 whatever q's dtype, got ",
             lse.describe());
  detail::check_device(op, "lse", lse, q.device());
  if (key_valid.defined()) {
    detail::check_ids(op, "key_valid", key_valid);
    detail::check_shape(op, "key_valid", key_valid, {B, Tk});
    detail::check_device(op, "key_valid", key_valid, q.device());
  }
}
}  // namespace

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                             Tensor& out) {
  const char* op = "flash_attention_forward";
  check_operands(op, q, k, v, key_valid, lse);
  detail::check_same(op, "out", out, q);
  WEFT_DISPATCH(q.device(), flash_attention_forward, q, k, v, key_valid, causal, scale, lse, out);
}

void flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& key_valid, bool causal, double scale, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv) {
  const char* op = "flash_attention_backward";
  check_operands(op, q, k, v, key_valid, lse);
  detail::check_same(op, "out", out, q);
  detail::check_same(op, "dout", dout, q);
  detail::check_same(op, "dq", dq, q);
  detail::check_same(op, "dk", dk, k);
  detail::check_same(op, "dv", dv, v);
  WEFT_DISPATCH(q.device(), flash_attention_backward, q, k, v, key_valid, causal, scale, out, lse,
                dout, dq, dk, dv);
}

}  // namespace weft::ops
