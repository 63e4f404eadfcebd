#pragma once
// The output projection and the loss: logits = h·Wᵀ with W the target
// embedding (tied) or a separate lm_head, then softmax cross-entropy.
//
// Shards: W is vocabulary-parallel like the embedding, so this rank computes
// logits (B,T,V/tp) for its slice of the vocabulary and the loss is the
// vocabulary-parallel cross-entropy: no rank holds full logits. Caches the
// logits; the backward pass overwrites them with their gradient.

#include "weft/model/embedding.h"
#include "weft/model/model.h"

namespace weft {

class OutputHead : public Module {
 public:
  // `tied` non-null: project with its table; else own "lm_head.weight".
  OutputHead(std::string name, const ModelConfig& config, TokenEmbedding* tied,
             const LayerContext& ctx);

  // h (B,T,d), target (B,T) i32. When dh is defined, also runs backward of
  // grad_scale · loss: W.grad += …, dh written.
  LossSum forward(const Tensor& h, const Tensor& target, double label_smoothing,
                  double grad_scale, Tensor* dh);
  const Tensor& logits() const { return logits_; }
  // Inference: logits (N,V) = h (N,d)·Wᵀ, no loss. Under tensor
  // parallelism a collective: every rank of the group calls it and receives
  // the full logits.
  void project(const Tensor& h, Tensor& logits);

 private:
  Parameter* weight_;
  std::shared_ptr<Communicator> tp_;
  Tensor logits_, losses_;
  Tensor stats_, all_stats_;          // (N,4) per-row loss statistics, this shard and all
  Tensor local_logits_, gathered_;    // project() under tensor parallelism
};

}  // namespace weft
