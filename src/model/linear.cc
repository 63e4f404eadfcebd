#include "weft/model/linear.h"

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/linear.h"
#include "weft/tensor/error.h"

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
  if (parallel_ == Parallel::Row) {  // the bias is added once, after the partial sums
    ops::gemm(x, false, weight_->value, true, y);
    tp_->all_reduce_sum(y);
    if (bias_) ops::add_bias(bias_->value, y);
    return;
  }
  const Tensor no_pre;
  Tensor unused;
  ops::linear_forward(x, weight_->value, bias_ ? bias_->value : no_pre, false, unused, y);
}

void Linear::forward_gelu(const Tensor& x, Tensor& pre, Tensor& y) {
  WEFT_CHECK(parallel_ != Parallel::Row, name(), ": a row-parallel layer cannot fuse its bias ",
             "and activation, which follow the all-reduce");
  const Tensor no_bias;
  ops::linear_forward(x, weight_->value, bias_ ? bias_->value : no_bias, true, pre, y);
}

void Linear::accumulate_parameter_grads(const Tensor& x, const Tensor& dy) {
  ops::gemm(dy, true, x, false, weight_->grad, 1.0, 1.0);
  weight_->grad_written();
  if (bias_) {
    ops::bias_backward(dy, bias_->grad);
    bias_->grad_written();
  }
}

void Linear::backward(const Tensor& x, const Tensor& dy, Tensor& dx, bool accumulate_dx) {
  accumulate_parameter_grads(x, dy);
  if (dx.defined()) ops::gemm(dy, false, weight_->value, false, dx, 1.0, accumulate_dx ? 1.0 : 0.0);
}

void Linear::backward_through_gelu(const Tensor& x, const Tensor& dy, const Tensor& pre,
                                   Tensor& dpre) {
  accumulate_parameter_grads(x, dy);
  ops::linear_backward_gelu(dy, weight_->value, pre, dpre);
}

}  // namespace weft
