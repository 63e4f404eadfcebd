#pragma once
// The BERT family: one bidirectional encoder stack (key padding, learned
// positions and segments, their norm) and the masked-LM head. Trained on
// batches whose input holds the corrupted tokens and whose target the
// original ids of the masked positions (data/mlm_masking.h); fill-mask reads
// the logits at [MASK] positions.

#include "weft/model/masked_lm_head.h"
#include "weft/model/model.h"
#include "weft/model/stack.h"

namespace weft {

class EncoderOnly : public Model {
 public:
  EncoderOnly(const ModelConfig& config, const LayerContext& ctx);

  // (B,T,V_local): this shard's columns of every position's logits.
  const Tensor& logits() const override { return head_.logits(); }
  const ModelConfig& config() const override { return config_; }
  MaskedLMHead& head() { return head_; }
  TransformerStack& encoder() { return encoder_; }

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale,
              bool backward) override;
  // The segment of each position of ids (B,T): the [SEP] tokens before it,
  // at most n_token_types − 1.
  const Tensor& segments_of(const Tensor& host_ids, Device device);

  ModelConfig config_;
  TokenEmbedding tokens_;
  TransformerStack encoder_;
  MaskedLMHead head_;
  Tensor valid_;
  Tensor host_segments_, segments_;
  Tensor staged_input_, staged_target_;
  Tensor dhidden_;
};

}  // namespace weft
