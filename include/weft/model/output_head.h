#pragma once
// The output projection and the loss: logits = h·Wᵀ with W the target
// embedding (tied) or a separate lm_head, then softmax cross-entropy.
//
// Shards: W is vocabulary-parallel like the embedding, a column-parallel
// projection: h enters the region through "f" (weft/model/tensor_parallel.h),
// whose backward sums dh over the group, and this rank computes logits
// (B,T,V/tp) for its slice of the vocabulary. Rows that pad the vocabulary
// (ModelConfig::vocab_multiple) are left out of the product: no logit, no
// probability, no gradient. The loss is the
// vocabulary-parallel cross-entropy: four statistics per row are gathered,
// no rank holds full logits. Caches the logits; the backward pass overwrites
// them with their gradient. Inference's project() leaves the region by
// gathering the logits.
//
// Training fuses the projection with the loss and its backward, a block of
// rows at a time: each block's logits become their gradient in place and are
// consumed by the two backward GEMMs before the next block is projected, so
// at most kLogitsBlockBytes of logits exist at once (GPT-2's 50k vocabulary
// at 16k tokens would otherwise need 1.6 GB in bf16).

#include "weft/model/embedding.h"

namespace weft {

class OutputHead : public Module {
 public:
  // `tied` non-null: project with its table; else own "<name>.weight".
  // `bias`: logits = h·Wᵀ + b with "<name>.bias", vocabulary-parallel as W
  // (BERT's masked-LM decoder).
  OutputHead(std::string name, const ModelConfig& config, TokenEmbedding* tied,
             const LayerContext& ctx, bool bias = false);

  // h (B,T,d), target (B,T) i32. Returns the loss summed over the counted
  // targets. When dh is defined, also runs backward of grad_scale · loss:
  // W.grad += …, dh written.
  double forward(const Tensor& h, const Tensor& target, double label_smoothing,
                  double grad_scale, Tensor* dh);
  // The logits of the last forward without backward (dh null), (B,T,V_local)
  // over this shard's real (not padding) vocabulary rows.
  const Tensor& logits() const { return logits_; }
  // Evaluation: with count_correct on, each forward also counts the counted
  // targets whose logit is the row's largest over the whole vocabulary
  // (from the statistics the shards exchange anyway; ties count as correct).
  void count_correct(bool on) { count_correct_ = on; }
  int64_t correct() const { return correct_; }

  static constexpr size_t kLogitsBlockBytes = size_t{256} << 20;
  // Inference: logits (N,V) = h (N,d)·Wᵀ, no loss. Under tensor
  // parallelism a collective: every rank of the group calls it and receives
  // the full logits.
  void project(const Tensor& h, Tensor& logits);

 private:
  void add_bias(Tensor& logits, int64_t V_local);  // logits (N, V_local) += b
  // Rows of all_stats (shards, n, 4) whose target logit is the largest.
  int64_t count_correct_rows(const Tensor& all_stats, const Tensor& targets) const;
  Parameter* weight_;
  Parameter* bias_ = nullptr;
  bool count_correct_ = false;
  int64_t correct_ = 0;
  std::shared_ptr<Communicator> tp_;
  // Sequence parallelism: dh is left this rank's partial sum, which the
  // model reduce-scatters into its rows.
  bool partial_dh_ = false;
  Tensor logits_, losses_;
  Tensor stats_, all_stats_;          // (N,4) per-row loss statistics, this shard and all
  Tensor local_logits_, gathered_;    // project() under tensor parallelism
  Tensor padded_logits_;              // … with the padding columns, before they are cut
};

}  // namespace weft
