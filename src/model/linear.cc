#include "weft/model/linear.h"

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"

namespace weft {

Linear::Linear(std::string name, int64_t in, int64_t out, const LayerContext& ctx,
               Parallel parallel, double init_std, bool bias)
    : Module(std::move(name)), parallel_(parallel), tp_(ctx.tp) {
  const int weight_shard = parallel == Parallel::Column ? 0 : parallel == Parallel::Row ? 1 : -1;
  weight_ = &add_parameter("weight", {out, in}, ctx, Init::Normal, init_std, true, weight_shard);
  if (bias) {
    bias_ = &add_parameter("bias", {out}, ctx, Init::Zeros, 0.0, false,
                           parallel == Parallel::Column ? 0 : -1);
  }
}

void Linear::forward(const Tensor& x, Tensor& y) {
  ops::gemm(x, false, weight_->value, true, y);
  if (parallel_ == Parallel::Row) tp_->all_reduce_sum(y);
  if (bias_) ops::add_bias(bias_->value, y);
}

void Linear::backward(const Tensor& x, const Tensor& dy, Tensor& dx, bool accumulate_dx) {
  ops::gemm(dy, true, x, false, weight_->grad, 1.0, 1.0);
  weight_->grad_written();
  if (bias_) {
    ops::bias_backward(dy, bias_->grad);
    bias_->grad_written();
  }
  if (dx.defined()) ops::gemm(dy, false, weight_->value, false, dx, 1.0, accumulate_dx ? 1.0 : 0.0);
}

}  // namespace weft
