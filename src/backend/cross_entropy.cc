#include "weft/backend/cross_entropy.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  const char* op = "cross_entropy";
  detail::check_logits_and_targets(op, logits, targets, "(N,V)");
  detail::check_loss_outputs(op, logits, losses, dlogits, label_smoothing);
  WEFT_DISPATCH(logits.device(), cross_entropy, logits, targets, ignore_index, label_smoothing,
                grad_scale, losses, dlogits);
}

}  // namespace weft::ops
