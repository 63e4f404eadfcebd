#include "weft/model/feed_forward.h"

#include "weft/backend/activation.h"

namespace weft {

FeedForward::FeedForward(std::string name, int64_t d_model, int64_t d_ff,
                         ops::Activation activation, double dropout, const LayerContext& ctx,
                         double init_std, double out_init_std)
    : Module(std::move(name)),
      activation_(activation),
      d_ff_(d_ff),
      fc1_(child_name("fc1"), d_model, d_ff, ctx, Parallel::Column, init_std),
      fc2_(child_name("fc2"), d_ff, d_model, ctx, Parallel::Row, out_init_std),
      dropout_(child_name("hidden_dropout"), dropout) {
  add_child(fc1_);
  add_child(fc2_);
}

void FeedForward::forward(const Tensor& x, Tensor& y, const StepContext& ctx,
                          bool partial_output) {
  const int64_t B = x.dim(0), T = x.dim(1), local = fc1_.out_local();
  Tensor::ensure(pre_act_, {B, T, local}, x.dtype(), x.device());
  Tensor::ensure(hidden_, {B, T, local}, x.dtype(), x.device());
  if (activation_ == ops::Activation::GELU) {
    fc1_.forward_gelu(x, pre_act_, hidden_);  // GEMM, bias and GELU in one pass
  } else {
    fc1_.forward(x, pre_act_);
    ops::activation_forward(activation_, pre_act_, hidden_);
  }
  // The mask is drawn over the full d_ff; this rank's units start at fc1's shard.
  dropout_.forward(hidden_, ctx, T, d_ff_, fc1_.weight().shard_offset);
  if (partial_output) {
    fc2_.forward_partial(hidden_, y);
  } else {
    fc2_.forward(hidden_, y);
  }
}

void FeedForward::backward(const Tensor& dy, const Tensor& x, Tensor& dx, const StepContext& ctx,
                           bool complete_dx) {
  const int64_t B = x.dim(0), T = x.dim(1), local = fc1_.out_local();
  Tensor::ensure(dhidden_, {B, T, local}, x.dtype(), x.device());
  if (activation_ == ops::Activation::GELU && !dropout_.active(ctx)) {
    // No dropout between fc2 and the GELU: its derivative rides on fc2's
    // input-gradient GEMM.
    fc2_.backward_through_gelu(hidden_, dy, pre_act_, dhidden_);
  } else {
    fc2_.backward(hidden_, dy, dhidden_);
    dropout_.backward(dhidden_, ctx, T, d_ff_, fc1_.weight().shard_offset);
    ops::activation_backward(activation_, pre_act_, dhidden_, dhidden_);
  }
  fc1_.backward(x, dhidden_, dx, {.complete = complete_dx});
}

void FeedForward::release_activations() {
  pre_act_ = Tensor(), hidden_ = Tensor(), dhidden_ = Tensor();
}

}  // namespace weft
