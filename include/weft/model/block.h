#pragma once
// One transformer layer: self-attention (causal in a decoder), optional
// cross-attention over the encoder output, then the feed-forward network,
// each wrapped in a Residual. Used by both model families:
//   encoder layer:               Self       + FFN
//   decoder-only (GPT) layer:    CausalSelf + FFN
//   encoder-decoder decoder:     CausalSelf + Cross + FFN

#include <functional>
#include <memory>
#include <optional>

#include "weft/model/attention.h"
#include "weft/model/config.h"
#include "weft/model/feed_forward.h"
#include "weft/model/kv_cache.h"
#include "weft/model/residual.h"
#include "weft/model/sequence_parallel.h"

namespace weft {

class TransformerBlock : public Module {
 public:
  // `n_layers` of the stack scales the residual projections' initialisation.
  TransformerBlock(std::string name, const ModelConfig& config, bool causal, bool cross,
                   int64_t n_layers, const LayerContext& ctx);

  // x (B,T,d); self_valid (B,T) and memory_valid (B,S) i32 key masks or
  // undefined; memory (B,S,d) for cross-attention. Returns y (B,T,d), owned
  // by this block until its next forward. Training with full recompute, the
  // block keeps only y: backward runs the forward again first (the masks
  // must stay alive until then, as the model's do).
  const Tensor& forward(const Tensor& x, const Tensor& self_valid, const Tensor& memory,
                        const Tensor& memory_valid, const StepContext& ctx);
  const Tensor& output() const { return ffn_res_.output(); }
  // dx written; dmemory += the cross-attention's gradient (partial under TP).
  void backward(const Tensor& dy, const Tensor& x, const Tensor& memory, Tensor& dx,
                Tensor& dmemory, const StepContext& ctx);

  // Inference over positions [start, start+T) (x (B,T,d)), no dropout:
  // self-attention appends to the layer's k, v and attends over [0, start+T);
  // cross-attention reads the layer's cross_k, cross_v. self_valid
  // (B,capacity) and memory_valid (B,S) i32 or undefined. Returns y (B,T,d),
  // owned by this block until its next forward.
  const Tensor& forward_cached(const Tensor& x, KVCache::Layer& layer, int64_t start,
                               const Tensor& self_valid, const Tensor& memory_valid);
  // The cross-attention's keys and values of memory (B,S,d) into the layer.
  void project_memory(const Tensor& memory, KVCache::Layer& layer);
  // Sequence parallelism: scratch for the sublayers' gathers and partial
  // sums, shared by the stack's blocks (they run one sublayer at a time).
  void share_sequence_scratch(SequenceScratch* scratch) { scratch_ = scratch; }

 private:
  MultiHeadAttention self_attn_;
  std::optional<MultiHeadAttention> cross_attn_;
  FeedForward ffn_;
  Residual self_res_;
  std::optional<Residual> cross_res_;
  Residual ffn_res_;
  Tensor dmid1_, dmid2_;              // gradients between sublayers
  // Sequence parallelism: the group, and the stack's scratch for the
  // sublayers' boundaries (share_sequence_scratch).
  std::shared_ptr<Communicator> tp_;
  SequenceScratch* scratch_ = nullptr;
  // A sublayer run on (B,T,d), or under ctx.sequence_shard wrapped in the
  // gather and reduce-scatter of the rows.
  using SublayerForward = std::function<void(const Tensor& in, Tensor& out, bool partial)>;
  using SublayerBackward =
      std::function<void(const Tensor& dout, const Tensor& in, Tensor& din, bool complete)>;
  void sublayer_forward(const Tensor& in, Tensor& out, const StepContext& ctx,
                        const SublayerForward& run);
  void sublayer_backward(const Tensor& dout, const Tensor& in, Tensor& din,
                         const StepContext& ctx, const SublayerBackward& run);
  // The last forward's masks, for a full recompute. Pointers, not copies: a
  // second owner would make the model reallocate its masks each step.
  const Tensor* self_valid_ = nullptr;
  const Tensor* memory_valid_ = nullptr;
  const Tensor& run_forward(const Tensor& x, const Tensor& self_valid, const Tensor& memory,
                            const Tensor& memory_valid, const StepContext& ctx);
  void release_activations();
  void backward_sublayers(const Tensor& dy, const Tensor& x, const Tensor& memory, Tensor& dx,
                          Tensor& dmemory, const StepContext& ctx);
};

}  // namespace weft
