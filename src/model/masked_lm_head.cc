#include "weft/model/masked_lm_head.h"

#include "weft/backend/activation.h"

namespace weft {

MaskedLMHead::MaskedLMHead(std::string name, const ModelConfig& c, TokenEmbedding& tokens,
                           const LayerContext& ctx)
    : Module(std::move(name)),
      transform_(child_name("transform"), c.d_model, c.d_model, ctx, Parallel::None, c.init_std),
      norm_(child_name("norm"), c.norm_type, c.d_model, c.norm_eps, ctx),
      decoder_(child_name("decoder"), c, &tokens, ctx, /*bias=*/true) {
  add_child(transform_);
  add_child(norm_);
  add_child(decoder_);
  // Partial input gradients under sequence parallelism make the transform's
  // gradients partial too (see the header); the norm marks its own.
  for (Parameter* p : transform_.parameters()) {
    p->sequence_parallel_partial = ctx.sequence_parallel && ctx.tp->size() > 1;
  }
}

double MaskedLMHead::forward(const Tensor& h, const Tensor& target, double label_smoothing,
                             double grad_scale, Tensor* dh) {
  Tensor::ensure(pre_, h.shape(), h.dtype(), h.device());
  Tensor::ensure(activated_, h.shape(), h.dtype(), h.device());
  Tensor::ensure(normed_, h.shape(), h.dtype(), h.device());
  transform_.forward_gelu(h, pre_, activated_);  // GEMM, bias and GELU in one pass
  norm_.forward(activated_, normed_);
  if (dh == nullptr) return decoder_.forward(normed_, target, label_smoothing, 0.0, nullptr);

  Tensor::ensure(dnormed_, h.shape(), h.dtype(), h.device());
  Tensor::ensure(dactivated_, h.shape(), h.dtype(), h.device());
  const double loss = decoder_.forward(normed_, target, label_smoothing, grad_scale, &dnormed_);
  norm_.backward(dnormed_, activated_, dactivated_);
  ops::activation_backward(ops::Activation::GELU, pre_, dactivated_, dactivated_);
  transform_.backward(h, dactivated_, *dh);
  return loss;
}

}  // namespace weft
