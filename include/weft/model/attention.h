#pragma once
// Multi-head attention in its three forms: self, causal self (decoder), and
// cross (queries from the decoder, keys and values from the encoder output).
//
// Shards: this rank holds heads [r·H/tp, (r+1)·H/tp): q, k, v are
// column-parallel Linears (the region's entry "f" sums their input
// gradients over the group), o is row-parallel (its exit "g" sums the heads'
// partial outputs). Cross-attention leaves its memory gradient a partial sum,
// collected over the decoder layers; the model completes it once.
// Caches: q, k, v (B,T,H_local,Dh), the attention probabilities
// (B,H_local,Tq,Tk) and the heads' concatenated output.
// Inference (KVCache) keeps keys and values in the caller's buffers instead:
// self-attention appends to (B,capacity,Hkv_local,Dh), cross-attention reads
// the encoder output's, projected once.
//
// Grouped-query attention (LLaMA): k and v project to Hkv ≤ H heads, each
// read by H/Hkv consecutive query heads; a rank holds Hkv/tp of them, so a
// cache holds only those. Rotary positions rotate q and k after their
// projections (inference: at the positions the cache continues from).

#include <cmath>

#include "weft/model/config.h"
#include "weft/model/linear.h"

namespace weft {

enum class AttentionKind { Self, CausalSelf, Cross };

struct AttentionShape {
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;   // 0: n_heads
  double rope_theta = 0.0;  // > 0: rotary positions with this base
  bool bias = true;         // biases of q, k, v and o
};

// The shape a model's attention of `kind` has: rotary positions apply to
// self-attention only (cross-attention's keys are another sequence's).
AttentionShape attention_shape(const ModelConfig& c, AttentionKind kind);

class MultiHeadAttention : public Module {
 public:
  // `out_init_std` initialises o, the residual projection.
  MultiHeadAttention(std::string name, const AttentionShape& shape, AttentionKind kind,
                     const LayerContext& ctx, double init_std, double out_init_std);

  // x (B,T,d) queries; memory (B,S,d) keys/values for Cross (ignored otherwise:
  // keys and values come from x); key_valid (B,S or T) i32, 0 marks padding,
  // undefined for none. y (B,T,d). With recompute_core the probabilities are
  // dropped after use and recomputed by backward (selective recompute; the
  // flash path on CUDA never keeps them).
  // partial_output (sequence parallelism): y is this rank's part of the sum
  // over the group, left for the caller to reduce-scatter.
  void forward(const Tensor& x, const Tensor& memory, const Tensor& key_valid, Tensor& y,
               bool recompute_core = false, bool partial_output = false);
  // dx written. For Cross, dmemory receives += the gradient through k and v
  // (the encoder output feeds every decoder layer). complete_dx = false
  // leaves dx this rank's partial sum (sequence parallelism: the caller
  // reduce-scatters it).
  void backward(const Tensor& dy, const Tensor& x, const Tensor& memory, Tensor& dx,
                Tensor& dmemory, bool complete_dx = true);

  // Drops every cached activation and scratch buffer (full recompute): the
  // next forward allocates them again.
  void release_activations();

  // Inference, self-attention: x (B,T,d) holds positions [start, start+T).
  // Their keys and values are written into k_cache, v_cache
  // (B,capacity,H_local,Dh) at those positions, then the queries attend over
  // positions [0, start+T) (causally for CausalSelf). key_valid
  // (B,capacity) i32 or undefined. y (B,T,d).
  void forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache, int64_t start,
                      const Tensor& key_valid, Tensor& y);
  // Inference, cross-attention: k, v (B,S,H_local,Dh) of memory (B,S,d),
  // computed once per source.
  void project_memory(const Tensor& memory, Tensor& k, Tensor& v);
  // Inference, cross-attention: queries from x (B,T,d) over project_memory's
  // k, v; memory_valid (B,S) i32 or undefined. y (B,T,d).
  void forward_memory(const Tensor& x, const Tensor& k, const Tensor& v,
                      const Tensor& memory_valid, Tensor& y);

 private:
  // Sizes `t` (B,len,heads,head_dim) like `like` (dtype, device).
  void ensure_heads(Tensor& t, int64_t batch, int64_t len, const Tensor& like) const;
  void ensure_kv_heads(Tensor& t, int64_t batch, int64_t len, const Tensor& like) const;
  // Keys or values (B,S,Hkv_local,Dh) as the query heads read them: `kv`
  // itself (so never pass a temporary), or repeated for each group into
  // `repeated`.
  const Tensor& per_query_head(const Tensor& kv, Tensor& repeated) const;
  // Rotary positions from `start` on queries or keys, in place (a no-op
  // without them); backward rotates gradients back.
  void rotate(Tensor& heads, int64_t start) const;
  void rotate_back(Tensor& dheads) const;
  // 1/√head_dim: the scale of the dot-product scores.
  double score_scale() const { return 1.0 / std::sqrt(static_cast<double>(head_dim_)); }
  AttentionKind kind_;
  int64_t heads_local_;
  int64_t kv_heads_local_;
  int64_t groups_;  // query heads per key/value head
  int64_t head_dim_;
  double rope_theta_;
  Linear q_, k_, v_, o_;
  // On CUDA training attention runs flash-style: the forward keeps each
  // query's log-sum-exp (lse_) instead of the (T,S) probabilities.
  bool flash_ = false;
  bool recompute_core_ = false;  // the last forward dropped probs_
  // The forward's key mask, read again by the flash backward. A pointer, not
  // a copy: a second owner would make the model reallocate the mask each step.
  const Tensor* key_valid_ = nullptr;
  Tensor lse_;
  Tensor q_out_, k_out_, v_out_, probs_, heads_;   // forward caches
  Tensor k_rep_, v_rep_;                           // grouped-query: per query head
  Tensor dheads_, dq_, dk_, dv_, dprobs_;          // backward scratch (per query head)
  Tensor dk_kv_, dv_kv_;                           // grouped-query: per key/value head
};

}  // namespace weft
