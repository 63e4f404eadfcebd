#include "weft/backend/cross_entropy.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  const char* op = "cross_entropy";
  detail::check_floating(op, "logits", logits);
  WEFT_CHECK(logits.rank() == 2, op, ": logits must be (N,V), got ", logits.describe());
  const int64_t n = logits.dim(0);
  detail::check_ids(op, "targets", targets);
  detail::check_shape(op, "targets", targets, {n});
  detail::check_device(op, "targets", targets, logits.device());
  detail::check_shape(op, "losses", losses, {n});
  // Mixed precision keeps the loss in f32 for bf16 logits.
  WEFT_CHECK(losses.dtype() == logits.dtype() ||
                 (logits.dtype() == DType::BF16 && losses.dtype() == DType::F32),
             op, ": losses must have the logits' dtype ", dtype_name(logits.dtype()),
             " (or f32 for bf16 logits), got ", losses.describe());
  detail::check_device(op, "losses", losses, logits.device());
  if (dlogits.defined()) detail::check_same(op, "dlogits", dlogits, logits);
  WEFT_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, op,
             ": label_smoothing must be in [0, 1], got ", label_smoothing);
  WEFT_DISPATCH(logits.device(), cross_entropy, logits, targets, ignore_index, label_smoothing,
                grad_scale, losses, dlogits);
}

}  // namespace weft::ops
