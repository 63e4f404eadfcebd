#pragma once
#include <cstdint>
#include <vector>

#include "weft/tensor/tensor.h"

namespace weft::ops {

struct AdamWStep {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  int64_t step = 1;          // 1-based, for bias correction
  double grad_scale = 1.0;   // multiplies the gradient first (clipping)
};

// One decoupled-weight-decay Adam update, as torch.optim.AdamW:
//   g = grad_scale · grad
//   m = β1·m + (1−β1)·g          v = β2·v + (1−β2)·g²
//   param −= lr · ( m/(1−β1^t) / (sqrt(v/(1−β2^t)) + eps) + weight_decay · param )
void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s);

// One parameter of a multi-tensor update. With mixed precision the param
// and its grad are bf16 and `master` is the f32 copy the update is applied
// to (param then receives master rounded to bf16); otherwise master is null.
// m and v are f32 in mixed precision, else the param's dtype.
struct AdamWTensor {
  Tensor* param = nullptr;
  const Tensor* grad = nullptr;
  Tensor* m = nullptr;
  Tensor* v = nullptr;
  Tensor* master = nullptr;
  double weight_decay = 0.0;  // replaces s.weight_decay for this tensor
};

// adamw_update over every tensor of the list; on CUDA in one kernel launch.
// All tensors are on one device.
void adamw_update_many(const std::vector<AdamWTensor>& tensors, const AdamWStep& s);

}  // namespace weft::ops
