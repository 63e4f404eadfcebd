#include "weft/backend/repeat_kv.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// kv (B,T,Hkv,Dh) and its repeated heads (B,T,Hkv·groups,Dh), named as the
// direction calls them (x and y, dx and dy).
void check_heads(const char* op, const char* kv_arg, const Tensor& kv, const char* heads_arg,
                 const Tensor& heads, int64_t groups) {
  WEFT_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  detail::check_floating(op, kv_arg, kv);
  WEFT_CHECK(kv.rank() == 4, op, ": ", kv_arg, " must be (B,T,Hkv,Dh), got ", kv.describe());
  detail::check_floating(op, heads_arg, heads);
  detail::check_shape(op, heads_arg, heads, {kv.dim(0), kv.dim(1), kv.dim(2) * groups, kv.dim(3)});
  WEFT_CHECK(heads.dtype() == kv.dtype(), op, ": ", heads_arg, " must have ", kv_arg,
             "'s dtype, got ", heads.describe(), " and ", kv.describe());
  detail::check_device(op, heads_arg, heads, kv.device());
}
}  // namespace

void repeat_kv_forward(const Tensor& x, int64_t groups, Tensor& y) {
  const char* op = "repeat_kv_forward";
  check_heads(op, "x", x, "y", y, groups);
  WEFT_CHECK(y.numel() == 0 || !detail::overlaps(x, y), op,
             ": y overlaps x; write into a separate buffer");
  WEFT_DISPATCH(x.device(), repeat_kv_forward, x, groups, y);
}

void repeat_kv_backward(const Tensor& dy, int64_t groups, Tensor& dx) {
  const char* op = "repeat_kv_backward";
  check_heads(op, "dx", dx, "dy", dy, groups);
  WEFT_CHECK(dx.numel() == 0 || !detail::overlaps(dy, dx), op,
             ": dx overlaps dy; write into a separate buffer");
  WEFT_DISPATCH(dy.device(), repeat_kv_backward, dy, groups, dx);
}

}  // namespace weft::ops
