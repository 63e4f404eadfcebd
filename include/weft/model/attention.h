#pragma once
// Multi-head attention in its three forms: self, causal self (decoder), and
// cross (queries from the decoder, keys and values from the encoder output).
//
// Shards: this rank holds heads [r·H/tp, (r+1)·H/tp): q, k, v are
// column-parallel, o is row-parallel and sums the heads' partial outputs.
// Caches: q, k, v (B,T,H_local,Dh), the attention probabilities
// (B,H_local,Tq,Tk) and the heads' concatenated output.

#include "weft/model/linear.h"

namespace weft {

enum class AttentionKind { Self, CausalSelf, Cross };

class MultiHeadAttention : public Module {
 public:
  // `out_init_std` initialises o, the residual projection.
  MultiHeadAttention(std::string name, int64_t d_model, int64_t n_heads, AttentionKind kind,
                     const LayerContext& ctx, double init_std, double out_init_std);

  // x (B,T,d) queries; memory (B,S,d) keys/values for Cross (ignored otherwise:
  // keys and values come from x); key_valid (B,S or T) i32, 0 marks padding,
  // undefined for none. y (B,T,d).
  void forward(const Tensor& x, const Tensor& memory, const Tensor& key_valid, Tensor& y);
  // dx written. For Cross, dmemory receives += the gradient through k and v
  // (the encoder output feeds every decoder layer).
  void backward(const Tensor& dy, const Tensor& x, const Tensor& memory, Tensor& dx,
                Tensor& dmemory);

 private:
  AttentionKind kind_;
  int64_t heads_local_;
  int64_t head_dim_;
  std::shared_ptr<Communicator> tp_;
  Linear q_, k_, v_, o_;
  Tensor q_out_, k_out_, v_out_, probs_, heads_;   // forward caches
  Tensor dheads_, dq_, dk_, dv_, dprobs_;          // backward scratch
};

}  // namespace weft
