#include "weft/model/norm.h"

#include "weft/backend/elementwise.h"
#include "weft/backend/layer_norm.h"
#include "weft/backend/rms_norm.h"

namespace weft {

namespace {
// bf16 rows keep their statistics in f32: rounded to bf16 they would cost
// the backward pass three significant digits.
DType stats_dtype(const Tensor& x) { return x.dtype() == DType::BF16 ? DType::F32 : x.dtype(); }
}  // namespace

Norm::Norm(std::string name, NormType type, int64_t dim, double eps, const LayerContext& ctx)
    : Module(std::move(name)), type_(type), eps_(eps) {
  gain_ = &add_parameter("weight", {dim}, ctx, Init::Ones, 0.0, false);
  if (type_ == NormType::LayerNorm) {
    bias_ = &add_parameter("bias", {dim}, ctx, Init::Zeros, 0.0, false);
  }
  // Under sequence parallelism a norm sees only this rank's rows.
  for (Parameter* p : {gain_, bias_}) {
    if (p != nullptr) p->sequence_parallel_partial = ctx.sequence_parallel && ctx.tp->size() > 1;
  }
}

void Norm::values_needed() {
  gain_->value_needed();
  if (bias_ != nullptr) bias_->value_needed();
}

void Norm::ensure_stats(const Tensor& x) {
  const Shape rows = {x.numel() / x.dim(-1)};
  if (type_ == NormType::LayerNorm) Tensor::ensure(mean_, rows, stats_dtype(x), x.device());
  Tensor::ensure(rstd_, rows, stats_dtype(x), x.device());
}

void Norm::forward(const Tensor& x, Tensor& y) {
  ensure_stats(x);
  values_needed();
  if (type_ == NormType::LayerNorm) {
    ops::layer_norm_forward(x, gain_->value, bias_->value, eps_, y, mean_, rstd_);
  } else {
    ops::rms_norm_forward(x, gain_->value, eps_, y, rstd_);
  }
}

void Norm::forward_add(const Tensor& a, const Tensor& b, Tensor& sum, Tensor& y) {
  if (type_ == NormType::RMSNorm) {
    ops::add(a, b, sum);
    forward(sum, y);
    return;
  }
  ensure_stats(a);
  values_needed();
  ops::add_layer_norm_forward(a, b, gain_->value, bias_->value, eps_, sum, y, mean_, rstd_);
}

void Norm::backward(const Tensor& dy, const Tensor& x, Tensor& dx) {
  if (type_ == NormType::LayerNorm) {
    ops::layer_norm_backward(dy, x, gain_->value, mean_, rstd_, dx, gain_->grad, bias_->grad);
    bias_->grad_written();
  } else {
    ops::rms_norm_backward(dy, x, gain_->value, rstd_, dx, gain_->grad);
  }
  gain_->grad_written();
}

}  // namespace weft
