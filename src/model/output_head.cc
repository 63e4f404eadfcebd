#include "weft/model/output_head.h"

#include "model/batch_checks.h"
#include "weft/backend/cross_entropy.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/tensor/error.h"

namespace weft {

OutputHead::OutputHead(std::string name, const ModelConfig& c, TokenEmbedding* tied,
                       const LayerContext& ctx)
    : Module(std::move(name)), tp_(ctx.tp) {
  WEFT_CHECK(ctx.tp->size() == 1, "the vocabulary-parallel loss needs the distributed layer");
  if (tied) {
    weight_ = &tied->table();
  } else {
    weight_ = &add_parameter("weight", {c.vocab_size, c.d_model}, ctx, Init::Normal, c.init_std,
                             true, 0);
  }
}

LossSum OutputHead::forward(const Tensor& h, const Tensor& target, double label_smoothing,
                            double grad_scale, Tensor* dh) {
  const int64_t B = h.dim(0), T = h.dim(1), V = weight_->value.dim(0);
  Tensor::ensure(logits_, {B, T, V}, h.dtype(), h.device());
  Tensor::ensure(losses_, {B * T}, h.dtype(), h.device());
  ops::gemm(h, false, weight_->value, true, logits_);

  Tensor logits2 = logits_.view({B * T, V});
  Tensor dlogits = dh ? logits2 : Tensor();
  ops::cross_entropy(logits2, target.view({B * T}), kIgnoreIndex, label_smoothing, grad_scale,
                     losses_, dlogits);

  LossSum result{ops::sum(losses_), detail::counted_targets(target)};

  if (dh) {
    ops::gemm(logits_, true, h, false, weight_->grad, 1.0, 1.0);
    ops::gemm(logits_, false, weight_->value, false, *dh);
  }
  return result;
}

void OutputHead::project(const Tensor& h, Tensor& logits) const {
  Tensor::ensure(logits, {h.dim(0), weight_->value.dim(0)}, h.dtype(), h.device());
  ops::gemm(h, false, weight_->value, true, logits);
}

}  // namespace weft
