#include "weft/train/clip.h"

#include <algorithm>
#include <cmath>

#include "weft/backend/elementwise.h"

namespace weft {

double global_grad_norm(const std::vector<Parameter*>& params, Communicator* tp) {
  SquaredGradSums sums;
  for (const Parameter* p : params) sums.add(*p, p->grad);
  return sums.norm(tp);
}

void SquaredGradSums::add(const Parameter& p, const Tensor& grad) {
  grads_.push_back(grad);
  sharded_.push_back(p.shard_dim >= 0);
}

double SquaredGradSums::norm(Communicator* tp, Communicator* partitioned) const {
  double replicated = 0.0, sharded = 0.0;
  const std::vector<double> each = ops::sum_squares_many(grads_);
  for (size_t i = 0; i < each.size(); ++i) (sharded_[i] ? sharded : replicated) += each[i];
  const bool over_dp = partitioned != nullptr && partitioned->size() > 1;
  const bool over_tp = tp != nullptr && tp->size() > 1;
  if (!over_dp && !over_tp) return std::sqrt(replicated + sharded);  // no tensor needed
  Tensor sums = Tensor::empty({2}, DType::F64);
  double* s = sums.data<double>();
  s[0] = replicated;
  s[1] = sharded;
  if (over_dp) partitioned->all_reduce(sums, ReduceOp::Sum);
  if (over_tp) {
    Tensor shared = sums.rows(1, 2);  // replicated gradients count once
    tp->all_reduce(shared, ReduceOp::Sum);
  }
  return std::sqrt(s[0] + s[1]);
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0;
  // The 1e-6 matches torch and keeps a zero norm from dividing by zero.
  return std::min(1.0, max_norm / (norm + 1e-6));
}

}  // namespace weft
