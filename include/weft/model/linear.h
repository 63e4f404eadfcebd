#pragma once
// y = x·Wᵀ + b over the last dimension, W (out, in) as in PyTorch.
//
// Shards (Megatron-LM): a Column-parallel layer holds rows [r·out/tp, ...)
// of W and b, so its output is this rank's slice of the features; a
// Row-parallel layer holds columns [r·in/tp, ...) of W, takes this rank's
// slice of the input, and sums partial outputs across the group (the "g"
// all-reduce) before adding the replicated bias. Caches nothing: callers
// pass the forward input back to backward().

#include "weft/model/parameter.h"

namespace weft {

enum class Parallel { None, Column, Row };

class Linear : public Module {
 public:
  Linear(std::string name, int64_t in, int64_t out, const LayerContext& ctx,
         Parallel parallel = Parallel::None, double init_std = 0.02, bool bias = true);

  // x (N..., in_local) -> y (N..., out_local)
  void forward(const Tensor& x, Tensor& y);
  // dW += dyᵀ·x, db += Σ dy; dx = dy·W (or += when accumulate_dx), skipped if dx undefined.
  void backward(const Tensor& x, const Tensor& dy, Tensor& dx, bool accumulate_dx = false);

  // y = gelu(x·wᵀ + b) with pre = x·wᵀ + b kept, in one GEMM with its
  // epilogue. Not for a row-parallel layer, whose bias follows the all-reduce.
  void forward_gelu(const Tensor& x, Tensor& pre, Tensor& y);
  // backward() of a layer whose input went through a GELU: the weight and
  // bias gradients as backward(), and the gradient of the GELU's input
  //   dpre = (dy · w) ⊙ gelu'(pre)
  // from one GEMM with the derivative in its epilogue.
  void backward_through_gelu(const Tensor& x, const Tensor& dy, const Tensor& pre, Tensor& dpre);

  int64_t in_local() const { return weight_->value.dim(1); }
  int64_t out_local() const { return weight_->value.dim(0); }
  Parameter& weight() { return *weight_; }

 private:
  Parallel parallel_;
  std::shared_ptr<Communicator> tp_;
  void accumulate_parameter_grads(const Tensor& x, const Tensor& dy);

  Parameter* weight_;
  Parameter* bias_ = nullptr;
};

}  // namespace weft
