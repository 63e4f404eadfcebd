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

// sqrt(replicated + Σ over tp of sharded): the squared sums of this rank's
// replicated and sharded gradients made global.
double norm_over_tp(double replicated, double sharded, Communicator* tp);

// min(1, max_norm / (norm + 1e-6)); max_norm <= 0 disables clipping (returns 1).
double clip_coefficient(double norm, double max_norm);

}  // namespace weft
