#pragma once
// The GPT family: one causal decoder stack and the output head. Caches what
// its stack and head cache for the backward pass. For generation, prefill and
// decode_step run the stack incrementally over a KVCache.

#include "weft/model/kv_cache.h"
#include "weft/model/model.h"
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

  // Inference (no dropout, no backward). prefill starts new sequences in
  // `cache`: ids (B,T0) i32 at positions [0, T0). decode_step appends ids
  // (B,T), usually T = 1, at positions [cache.length(), +T). Both return the
  // logits (B,V) of the last new position, owned by the model until its next
  // call; a cache never holds more than model.max_seq_len positions (or its
  // own smaller capacity): more is refused with a weft::Error.
  const Tensor& prefill(const Tensor& ids, KVCache& cache);
  const Tensor& decode_step(const Tensor& ids, KVCache& cache);

 private:
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale, bool backward);

  ModelConfig config_;
  TokenEmbedding tokens_;
  TransformerStack decoder_;
  OutputHead head_;
  std::shared_ptr<Communicator> tp_;
  Tensor valid_;  // key mask of the last batch
  Tensor staged_input_, staged_target_, staged_ids_;  // ids copied to the model's device
  Tensor dhidden_;
  Tensor last_hidden_, step_logits_;  // inference: (B,d), (B,V)
};

}  // namespace weft
