#pragma once
// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_: the optimizer
// scales every gradient by one coefficient, passed as AdamW's grad_scale, so
// no gradient is rewritten.

#include <vector>

#include "weft/model/parameter.h"

namespace weft {

// sqrt(Σ over parameters of Σ grad²) of the full (unsharded) model,
// accumulated in double. Under tensor parallelism pass the group: the sums
// of sharded parameters are added across it, replicated ones count once.
// (Data-parallel replicas hold equal gradients once they are reduced.)
double global_grad_norm(const std::vector<Parameter*>& params, Communicator* tp = nullptr);

// The squared sums of gradients, kept apart by whether the parameter is
// sharded over tensor-parallel ranks (summed over the group) or replicated
// (counted once). Both norms below and AdamW's are built from it. The sums
// are taken together by one multi-tensor reduction when the norm is asked
// for: on a GPU one host synchronisation per step, not one per parameter.
class SquaredGradSums {
 public:
  // Adds Σ grad² of `grad`: p's gradient, or (ZeRO-1) this rank's slice of
  // it. The tensor is read by norm(), so it must stay unchanged until then.
  void add(const Parameter& p, const Tensor& grad);
  // sqrt of the whole model's sum. `partitioned`: the data-parallel group
  // when each replica holds a disjoint part of the gradients (ZeRO-1), whose
  // sums are added across it first; null when every replica holds them all.
  double norm(Communicator* tp, Communicator* partitioned = nullptr) const;

 private:
  std::vector<Tensor> grads_;
  std::vector<bool> sharded_;
};

// min(1, max_norm / (norm + 1e-6)); max_norm <= 0 disables clipping (returns 1).
double clip_coefficient(double norm, double max_norm);

}  // namespace weft
