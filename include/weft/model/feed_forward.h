#pragma once
// Position-wise feed-forward network, in one of two forms:
//   mlp:    Linear -> activation -> dropout -> Linear (fc1, fc2)
//   swiglu: silu(gate(x)) ⊙ up(x) -> dropout -> down (LLaMA)
//
// Shards: the projections into the hidden units (fc1; gate and up) are
// column-parallel (this rank's slice of the d_ff hidden units; their "f"
// sums the input gradient over the group, once), the projection out (fc2,
// down) row-parallel (its "g" sums the slices' partial outputs); the
// Linears own both collectives. Caches the pre-activations and the
// dropped-out hidden values (the last projection's input), (B,T,d_ff/tp).

#include <optional>

#include "weft/backend/activation.h"
#include "weft/model/config.h"
#include "weft/model/dropout.h"
#include "weft/model/linear.h"

namespace weft {

struct FeedForwardShape {
  int64_t d_model = 0;
  int64_t d_ff = 0;
  FeedForwardType type = FeedForwardType::MLP;
  ops::Activation activation = ops::Activation::GELU;  // mlp only
  bool bias = true;
};

FeedForwardShape feed_forward_shape(const ModelConfig& c);

class FeedForward : public Module {
 public:
  FeedForward(std::string name, const FeedForwardShape& shape, double dropout,
              const LayerContext& ctx, double init_std, double out_init_std);

  // x, y (B,T,d). partial_output and complete_dx = false: as
  // MultiHeadAttention's, for sequence parallelism.
  void forward(const Tensor& x, Tensor& y, const StepContext& ctx, bool partial_output = false);
  void backward(const Tensor& dy, const Tensor& x, Tensor& dx, const StepContext& ctx,
                bool complete_dx = true);
  // Drops the cached activations and scratch (full recompute).
  void release_activations();

 private:
  void hidden_forward(const Tensor& x);                       // hidden_ from x
  bool swiglu() const { return gate_.has_value(); }

  ops::Activation activation_;
  int64_t d_ff_;
  std::optional<Linear> gate_;  // swiglu only
  Linear fc1_, fc2_;            // swiglu: up and down
  Dropout dropout_;
  Tensor pre_act_, hidden_;  // (B,T,d_ff_local); swiglu: pre_act_ is the gate's output
  Tensor up_;                // swiglu: the up projection's output
  Tensor dhidden_, dup_;
};

}  // namespace weft
