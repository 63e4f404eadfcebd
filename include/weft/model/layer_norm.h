#pragma once
// Layer norm over d_model with a learned gain and bias (replicated on every
// tensor-parallel rank). Caches each row's mean and 1/std for backward.

#include "weft/model/parameter.h"

namespace weft {

class LayerNorm : public Module {
 public:
  LayerNorm(std::string name, int64_t dim, double eps, const LayerContext& ctx);

  void forward(const Tensor& x, Tensor& y);                 // x, y (N..., dim)
  // sum = a + b, y = norm(sum) in one pass (a residual add and the norm after
  // it); sum may alias a. backward() then takes sum as its x.
  void forward_add(const Tensor& a, const Tensor& b, Tensor& sum, Tensor& y);
  void backward(const Tensor& dy, const Tensor& x, Tensor& dx);  // dx written

 private:
  void values_needed();  // before a forward reads gain and bias
  double eps_;
  Parameter* gain_;
  Parameter* bias_;
  Tensor mean_, rstd_;  // (N) of the last forward
};

}  // namespace weft
