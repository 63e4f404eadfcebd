#pragma once
// The 2017 Transformer: an encoder stack over the source, a decoder stack
// with masked self-attention and cross-attention over the encoder output,
// and the output head. With a shared vocabulary the encoder, decoder and
// output projection use one embedding table. Translation runs the encoder
// once and the decoder incrementally over a KVCache
// (inference/cached_decoding.h) through the accessors below.

#include <memory>

#include "weft/model/model.h"
#include "weft/model/output_head.h"
#include "weft/model/stack.h"

namespace weft {

class EncoderDecoder : public Model {
 public:
  EncoderDecoder(const ModelConfig& config, const LayerContext& ctx);

  const Tensor& logits() const override { return head_.logits(); }
  const ModelConfig& config() const override { return config_; }

  // The parts decoding runs on its own: the target embedding (whose table's
  // device is the model's), both stacks, the output head and the
  // tensor-parallel group the heads are split over.
  TokenEmbedding& target_tokens() { return target_tokens_; }
  TransformerStack& encoder() { return encoder_; }
  TransformerStack& decoder() { return decoder_; }
  OutputHead& head() { return head_; }
  const Communicator& tp() const { return *tp_; }

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale,
              bool backward) override;
  TokenEmbedding& source_tokens() { return source_tokens_ ? *source_tokens_ : target_tokens_; }

  ModelConfig config_;
  std::shared_ptr<Communicator> tp_;
  TokenEmbedding target_tokens_;
  std::unique_ptr<TokenEmbedding> source_tokens_;  // only with separate vocabularies
  TransformerStack encoder_;
  TransformerStack decoder_;
  OutputHead head_;
  Tensor source_valid_, target_valid_;  // key masks of the last batch
  Tensor staged_source_, staged_input_, staged_target_;  // ids on the model's device
  Tensor dhidden_, dmemory_;
};

}  // namespace weft
