#pragma once
// The norm over d_model, replicated on every tensor-parallel rank:
//   layer norm (GPT, 2017, BERT): learned gain and bias; caches each row's
//     mean and 1/std for backward;
//   RMS norm (LLaMA): learned gain only; caches each row's 1/rms.

#include "weft/model/config.h"
#include "weft/model/parameter.h"

namespace weft {

class Norm : public Module {
 public:
  Norm(std::string name, NormType type, int64_t dim, double eps, const LayerContext& ctx);

  void forward(const Tensor& x, Tensor& y);                 // x, y (N..., dim)
  // sum = a + b, y = norm(sum) (a residual add and the norm after it; layer
  // norm does both in one pass); sum may alias a. backward() then takes sum
  // as its x.
  void forward_add(const Tensor& a, const Tensor& b, Tensor& sum, Tensor& y);
  void backward(const Tensor& dy, const Tensor& x, Tensor& dx);  // dx written

 private:
  void values_needed();  // before a forward reads gain and bias
  void ensure_stats(const Tensor& x);
  NormType type_;
  double eps_;
  Parameter* gain_;
  Parameter* bias_ = nullptr;  // layer norm only
  Tensor mean_, rstd_;  // (N) of the last forward; mean_ for layer norm only
};

}  // namespace weft
