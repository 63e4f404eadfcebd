#pragma once
// The GPT family: one causal decoder stack and the output head. Caches what
// its stack and head cache for the backward pass.

#include "weft/model/output_head.h"
#include "weft/model/stack.h"

namespace weft {

class DecoderOnly : public Model {
 public:
  DecoderOnly(const ModelConfig& config, const LayerContext& ctx);

  LossSum forward(const Batch& batch, const StepContext& ctx) override;
  LossSum forward_backward(const Batch& batch, const StepContext& ctx,
                           double grad_scale) override;
  const Tensor& logits() const override { return head_.logits(); }
  const ModelConfig& config() const override { return config_; }

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale, bool backward);

  ModelConfig config_;
  TokenEmbedding tokens_;
  TransformerStack decoder_;
  OutputHead head_;
  Tensor valid_;  // key mask of the last batch
  Tensor dhidden_;
};

}  // namespace weft
