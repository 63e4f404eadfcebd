#pragma once
// y = x·Wᵀ + b over the last dimension, W (out, in) as in PyTorch.
//
// Shards (Megatron-LM's ColumnParallelLinear and RowParallelLinear, with the
// mappings of weft/model/tensor_parallel.h):
// - Column: rows [r·out/tp, ...) of W and b; the output is this rank's slice
//   of the features. The layer enters a region through "f": its input is
//   replicated, and backward completes the input gradient, a partial sum
//   over this rank's features, with the group's sum.
// - Row: columns [r·in/tp, ...) of W, b replicated; the input is this rank's
//   slice of the features. The layer leaves the region through "g": forward
//   sums the partial outputs across the group, then adds the bias once.
// Caches nothing: callers pass the forward input back to backward().

#include "weft/model/parameter.h"

namespace weft {

enum class Parallel { None, Column, Row };

// What backward() does with the input gradient dx.
struct InputGrad {
  bool accumulate = false;  // dx += dy·W instead of dx = dy·W
  // Column-parallel: finish with f's backward, the sum over the group. Layers
  // that read one input (attention's q, k, v) add their parts into one dx
  // and let the last one complete it, so the group sums once.
  bool complete = true;
};

class Linear : public Module {
 public:
  Linear(std::string name, int64_t in, int64_t out, const LayerContext& ctx,
         Parallel parallel = Parallel::None, double init_std = 0.02, bool bias = true);

  // x (N..., in_local) -> y (N..., out_local)
  void forward(const Tensor& x, Tensor& y);
  // Row-parallel without leaving the region: y = x·Wᵀ, plus b on tp rank 0,
  // this rank's part of the output's sum over the group (a sequence-parallel
  // caller reduce-scatters it). Backward takes the full dy as usual.
  void forward_partial(const Tensor& x, Tensor& y);
  // dW += dyᵀ·x, db += Σ dy; dx from dy·W as `input_grad` says, skipped if
  // dx is undefined.
  void backward(const Tensor& x, const Tensor& dy, Tensor& dx, InputGrad input_grad = {});

  // y = gelu(x·wᵀ + b) with pre = x·wᵀ + b kept, in one GEMM with its
  // epilogue. Not for a row-parallel layer, whose bias follows the all-reduce.
  void forward_gelu(const Tensor& x, Tensor& pre, Tensor& y);
  // backward() of a layer whose input went through a GELU: the weight and
  // bias gradients as backward(), and the gradient of the GELU's input
  //   dpre = (dy · w) ⊙ gelu'(pre)
  // from one GEMM with the derivative in its epilogue. Not for a
  // column-parallel layer, whose dy·w is only a partial sum.
  void backward_through_gelu(const Tensor& x, const Tensor& dy, const Tensor& pre, Tensor& dpre);

  int64_t in_local() const { return weight_->value.dim(1); }
  int64_t out_local() const { return weight_->value.dim(0); }
  Parameter& weight() { return *weight_; }

 private:
  void values_needed();  // before a forward reads weight and bias
  // g's backward (row-parallel: identity) ahead of the parameter gradients.
  const Tensor& output_grad(const Tensor& dy);
  void accumulate_parameter_grads(const Tensor& x, const Tensor& dy);

  Parallel parallel_;
  std::shared_ptr<Communicator> tp_;
  Parameter* weight_;
  Parameter* bias_ = nullptr;
};

}  // namespace weft
