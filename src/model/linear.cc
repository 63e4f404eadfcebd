#include "weft/model/linear.h"

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/linear.h"
#include "weft/model/tensor_parallel.h"
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

void Linear::values_needed() {
  weight_->value_needed();
  if (bias_) bias_->value_needed();
}

void Linear::forward(const Tensor& x, Tensor& y) {
  values_needed();
  if (parallel_ == Parallel::Row) {  // the bias is added once, after the partial sums
    ops::gemm(x, false, weight_->value, true, y);
    reduce_from_tensor_parallel_region_forward(*tp_, y);
    if (bias_) ops::add_bias(bias_->value, y);
    return;
  }
  const Tensor& input =
      parallel_ == Parallel::Column ? copy_to_tensor_parallel_region_forward(*tp_, x) : x;
  const Tensor no_pre;
  Tensor unused;
  ops::linear_forward(input, weight_->value, bias_ ? bias_->value : no_pre, false, unused, y);
}

void Linear::forward_partial(const Tensor& x, Tensor& y) {
  WEFT_CHECK(parallel_ == Parallel::Row, name(), ": only a row-parallel layer has a partial output");
  values_needed();
  ops::gemm(x, false, weight_->value, true, y);
  // Summed over the group, the bias counts once.
  if (bias_ && tp_->rank() == 0) ops::add_bias(bias_->value, y);
}

void Linear::forward_gelu(const Tensor& x, Tensor& pre, Tensor& y) {
  WEFT_CHECK(parallel_ != Parallel::Row, name(), ": a row-parallel layer cannot fuse its bias ",
             "and activation, which follow the all-reduce");
  values_needed();
  const Tensor& input =
      parallel_ == Parallel::Column ? copy_to_tensor_parallel_region_forward(*tp_, x) : x;
  const Tensor no_bias;
  ops::linear_forward(input, weight_->value, bias_ ? bias_->value : no_bias, true, pre, y);
}

const Tensor& Linear::output_grad(const Tensor& dy) {
  return parallel_ == Parallel::Row ? reduce_from_tensor_parallel_region_backward(*tp_, dy) : dy;
}

void Linear::accumulate_parameter_grads(const Tensor& x, const Tensor& dy) {
  Tensor no_bias;
  ops::linear_backward_weight(dy, x, weight_->grad, bias_ ? bias_->grad : no_bias);
  weight_->grad_written();
  if (bias_) bias_->grad_written();
}

void Linear::backward(const Tensor& x, const Tensor& dy_in, Tensor& dx, InputGrad input_grad) {
  const Tensor& dy = output_grad(dy_in);
  accumulate_parameter_grads(x, dy);
  if (!dx.defined()) return;
  ops::gemm(dy, false, weight_->value, false, dx, 1.0, input_grad.accumulate ? 1.0 : 0.0);
  if (parallel_ == Parallel::Column && input_grad.complete) {
    copy_to_tensor_parallel_region_backward(*tp_, dx);
  }
}

void Linear::backward_through_gelu(const Tensor& x, const Tensor& dy_in, const Tensor& pre,
                                   Tensor& dpre) {
  WEFT_CHECK(parallel_ != Parallel::Column, name(), ": a column-parallel layer's input gradient ",
             "is summed over the group before an activation's derivative can apply");
  const Tensor& dy = output_grad(dy_in);
  accumulate_parameter_grads(x, dy);
  ops::linear_backward_gelu(dy, weight_->value, pre, dpre);
}

}  // namespace weft
