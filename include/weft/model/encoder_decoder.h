#pragma once
// The 2017 Transformer: an encoder stack over the source, a decoder stack
// with masked self-attention and cross-attention over the encoder output,
// and the output head. With a shared vocabulary the encoder, decoder and
// output projection use one embedding table. For translation, encode runs
// the encoder once and decode_step the decoder incrementally over a KVCache.

#include <memory>

#include "weft/model/kv_cache.h"
#include "weft/model/model.h"
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

  // Inference (no dropout, no backward). encode starts new sequences in
  // `cache`: source (B,S) i32 (padding masked when the config has a pad id)
  // is encoded and every decoder layer's cross-attention keys and values are
  // stored; the target length is 0. decode_step then appends target ids
  // (B,T), usually T = 1 starting with BOS, at positions [cache.length(), +T)
  // and returns the logits (B,V) of the last, owned by the model until its
  // next call. More than model.max_seq_len target positions (or the cache's
  // smaller capacity) are refused with a weft::Error.
  void encode(const Tensor& source, KVCache& cache);
  const Tensor& decode_step(const Tensor& ids, KVCache& cache);

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
  Tensor staged_source_, staged_input_, staged_target_, staged_ids_;  // ids on the model's device
  Tensor dhidden_, dmemory_;
  Tensor last_hidden_, step_logits_;  // inference: (B,d), (B,V)
};

}  // namespace weft
