#pragma once
// The GPT family: one causal decoder stack and the output head. Caches what
// its stack and head cache for the backward pass. Generation runs the stack
// incrementally over a KVCache (inference/cached_decoding.h) through the
// accessors below.

#include "weft/model/model.h"
#include "weft/model/output_head.h"
#include "weft/model/stack.h"

namespace weft {

class DecoderOnly : public Model {
 public:
  DecoderOnly(const ModelConfig& config, const LayerContext& ctx);

  const Tensor& logits() const override { return head_.logits(); }
  const ModelConfig& config() const override { return config_; }

  // The parts decoding runs on its own: the token embedding (whose table's
  // device is the model's), the decoder stack, the output head and the
  // tensor-parallel group the heads are split over.
  TokenEmbedding& tokens() { return tokens_; }
  TransformerStack& decoder() { return decoder_; }
  OutputHead& head() { return head_; }
  const Communicator& tp() const { return *tp_; }

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale,
              bool backward) override;

  ModelConfig config_;
  TokenEmbedding tokens_;
  TransformerStack decoder_;
  OutputHead head_;
  std::shared_ptr<Communicator> tp_;
  Tensor valid_;  // key mask of the last batch
  Tensor staged_input_, staged_target_;  // ids copied to the model's device
  Tensor dhidden_;
};

}  // namespace weft
