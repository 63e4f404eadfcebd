#include "weft/model/layer_norm.h"

#include "weft/backend/layer_norm.h"

namespace weft {

namespace {
// bf16 rows keep their mean and 1/std in f32: rounded to bf16 they would cost
// the backward pass three significant digits.
DType stats_dtype(const Tensor& x) { return x.dtype() == DType::BF16 ? DType::F32 : x.dtype(); }
}  // namespace

LayerNorm::LayerNorm(std::string name, int64_t dim, double eps, const LayerContext& ctx)
    : Module(std::move(name)), eps_(eps) {
  gain_ = &add_parameter("weight", {dim}, ctx, Init::Ones, 0.0, false);
  bias_ = &add_parameter("bias", {dim}, ctx, Init::Zeros, 0.0, false);
  // Under sequence parallelism a norm sees only this rank's rows.
  gain_->sequence_parallel_partial = bias_->sequence_parallel_partial =
      ctx.sequence_parallel && ctx.tp->size() > 1;
}

void LayerNorm::values_needed() {
  gain_->value_needed();
  bias_->value_needed();
}

void LayerNorm::forward(const Tensor& x, Tensor& y) {
  const Shape rows = {x.numel() / x.dim(-1)};
  Tensor::ensure(mean_, rows, stats_dtype(x), x.device());
  Tensor::ensure(rstd_, rows, stats_dtype(x), x.device());
  values_needed();
  ops::layer_norm_forward(x, gain_->value, bias_->value, eps_, y, mean_, rstd_);
}

void LayerNorm::forward_add(const Tensor& a, const Tensor& b, Tensor& sum, Tensor& y) {
  const Shape rows = {a.numel() / a.dim(-1)};
  Tensor::ensure(mean_, rows, stats_dtype(a), a.device());
  Tensor::ensure(rstd_, rows, stats_dtype(a), a.device());
  values_needed();
  ops::add_layer_norm_forward(a, b, gain_->value, bias_->value, eps_, sum, y, mean_, rstd_);
}

void LayerNorm::backward(const Tensor& dy, const Tensor& x, Tensor& dx) {
  ops::layer_norm_backward(dy, x, gain_->value, mean_, rstd_, dx, gain_->grad, bias_->grad);
  gain_->grad_written();
  bias_->grad_written();
}

}  // namespace weft
