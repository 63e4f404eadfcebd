#include "weft/backend/flash_attention.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// q, k, v as attention's; lse (B,H,Tq) f32 and key_valid on q's device.
void check_operands(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& key_valid, const Tensor& lse) {
  detail::check_qkv(op, q, k, v);
  detail::check_shape(op, "lse", lse, {q.dim(0), q.dim(2), q.dim(1)});
  WEFT_CHECK(lse.dtype() == DType::F32, op, ": lse must be f32 whatever q's dtype, got ",
             lse.describe());
  detail::check_device(op, "lse", lse, q.device());
  detail::check_key_valid(op, key_valid, q, k);
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

void describe_key_mask(const Tensor& key_valid, bool lengths) {
  WEFT_CHECK(key_valid.defined() && key_valid.rank() == 2 && key_valid.dtype() == DType::I32,
             "describe_key_mask: key_valid must be (B,Tk) i32, got ",
             key_valid.defined() ? key_valid.describe() : "undefined");
  WEFT_DISPATCH(key_valid.device(), describe_key_mask, key_valid, lengths);
}

}  // namespace weft::ops
