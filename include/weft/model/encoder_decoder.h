#pragma once
// The 2017 Transformer: an encoder stack over the source, a decoder stack
// with masked self-attention and cross-attention over the encoder output,
// and the output head. With a shared vocabulary the encoder, decoder and
// output projection use one embedding table.

#include <memory>

#include "weft/model/output_head.h"
#include "weft/model/stack.h"

namespace weft {

class EncoderDecoder : public Model {
 public:
  EncoderDecoder(const ModelConfig& config, const LayerContext& ctx);

  LossSum forward(const Batch& batch, const StepContext& ctx) override;
  LossSum forward_backward(const Batch& batch, const StepContext& ctx,
                           double grad_scale) override;
  const Tensor& logits() const override { return head_.logits(); }
  const ModelConfig& config() const override { return config_; }

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale, bool backward);
  TokenEmbedding& source_tokens() { return source_tokens_ ? *source_tokens_ : target_tokens_; }

  ModelConfig config_;
  std::shared_ptr<Communicator> tp_;
  TokenEmbedding target_tokens_;
  std::unique_ptr<TokenEmbedding> source_tokens_;  // only with separate vocabularies
  TransformerStack encoder_;
  TransformerStack decoder_;
  OutputHead head_;
  Tensor source_valid_, target_valid_;  // key masks of the last batch
  Tensor dhidden_, dmemory_;
};

}  // namespace weft
