#pragma once
// Position-wise feed-forward network: Linear -> activation -> dropout -> Linear.
//
// Shards: fc1 is column-parallel (this rank's slice of the d_ff hidden
// units; its "f" sums the input gradient over the group), fc2 row-parallel
// (its "g" sums the slices' partial outputs); the Linears own both
// collectives. Caches the pre-activation and the dropped-out activation
// (fc2's input), (B,T,d_ff/tp).

#include "weft/backend/activation.h"
#include "weft/model/dropout.h"
#include "weft/model/linear.h"

namespace weft {

class FeedForward : public Module {
 public:
  FeedForward(std::string name, int64_t d_model, int64_t d_ff, ops::Activation activation,
              double dropout, const LayerContext& ctx, double init_std, double out_init_std);

  // x, y (B,T,d). partial_output and complete_dx = false: as
  // MultiHeadAttention's, for sequence parallelism.
  void forward(const Tensor& x, Tensor& y, const StepContext& ctx, bool partial_output = false);
  void backward(const Tensor& dy, const Tensor& x, Tensor& dx, const StepContext& ctx,
                bool complete_dx = true);
  // Drops the cached activations and scratch (full recompute).
  void release_activations();

 private:
  ops::Activation activation_;
  int64_t d_ff_;
  Linear fc1_, fc2_;
  Dropout dropout_;
  Tensor pre_act_, hidden_;  // (B,T,d_ff_local)
  Tensor dhidden_;
};

}  // namespace weft
