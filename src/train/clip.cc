#include "weft/train/clip.h"

#include <algorithm>
#include <cmath>

#include "weft/backend/elementwise.h"

namespace weft {

double global_grad_norm(const std::vector<Parameter*>& params, Communicator* tp) {
  double replicated = 0.0, sharded = 0.0;
  for (const Parameter* p : params) {
    (p->shard_dim >= 0 ? sharded : replicated) += ops::sum_squares(p->grad);
  }
  return norm_over_tp(replicated, sharded, tp);
}

double norm_over_tp(double replicated, double sharded, Communicator* tp) {
  if (tp != nullptr && tp->size() > 1) {
    Tensor sum = Tensor::empty({1}, DType::F64);
    sum.data<double>()[0] = sharded;
    tp->all_reduce(sum, ReduceOp::Sum);
    sharded = sum.data<double>()[0];
  }
  return std::sqrt(replicated + sharded);
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0;
  // The 1e-6 matches torch and keeps a zero norm from dividing by zero.
  return std::min(1.0, max_norm / (norm + 1e-6));
}

}  // namespace weft
