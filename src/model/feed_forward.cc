#include "weft/model/feed_forward.h"

#include "weft/backend/activation.h"
#include "weft/backend/swiglu.h"

namespace weft {

FeedForwardShape feed_forward_shape(const ModelConfig& c) {
  return {.d_model = c.d_model,
          .d_ff = c.d_ff,
          .type = c.ffn,
          .activation = c.activation,
          .bias = c.bias};
}

namespace {
bool is_swiglu(const FeedForwardShape& s) { return s.type == FeedForwardType::SwiGLU; }
}  // namespace

FeedForward::FeedForward(std::string name, const FeedForwardShape& shape, double dropout,
                         const LayerContext& ctx, double init_std, double out_init_std)
    : Module(std::move(name)),
      activation_(shape.activation),
      d_ff_(shape.d_ff),
      fc1_(child_name(is_swiglu(shape) ? "up" : "fc1"), shape.d_model, shape.d_ff, ctx,
           Parallel::Column, init_std, shape.bias),
      fc2_(child_name(is_swiglu(shape) ? "down" : "fc2"), shape.d_ff, shape.d_model, ctx,
           Parallel::Row, out_init_std, shape.bias),
      dropout_(child_name("hidden_dropout"), dropout) {
  if (is_swiglu(shape)) {
    gate_.emplace(child_name("gate"), shape.d_model, shape.d_ff, ctx, Parallel::Column, init_std,
                  shape.bias);
    add_child(*gate_);
  }
  add_child(fc1_);
  add_child(fc2_);
}

void FeedForward::hidden_forward(const Tensor& x) {
  if (swiglu()) {
    Tensor::ensure(up_, hidden_.shape(), x.dtype(), x.device());
    gate_->forward(x, pre_act_);
    fc1_.forward(x, up_);
    ops::swiglu_forward(pre_act_, up_, hidden_);
  } else if (activation_ == ops::Activation::GELU) {
    fc1_.forward_gelu(x, pre_act_, hidden_);  // GEMM, bias and GELU in one pass
  } else {
    fc1_.forward(x, pre_act_);
    ops::activation_forward(activation_, pre_act_, hidden_);
  }
}

void FeedForward::forward(const Tensor& x, Tensor& y, const StepContext& ctx,
                          bool partial_output) {
  const int64_t B = x.dim(0), T = x.dim(1), local = fc1_.out_local();
  Tensor::ensure(pre_act_, {B, T, local}, x.dtype(), x.device());
  Tensor::ensure(hidden_, {B, T, local}, x.dtype(), x.device());
  hidden_forward(x);
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
  if (!swiglu() && activation_ == ops::Activation::GELU && !dropout_.active(ctx)) {
    // No dropout between fc2 and the GELU: its derivative rides on fc2's
    // input-gradient GEMM.
    fc2_.backward_through_gelu(hidden_, dy, pre_act_, dhidden_);
    fc1_.backward(x, dhidden_, dx, {.complete = complete_dx});
    return;
  }
  fc2_.backward(hidden_, dy, dhidden_);
  dropout_.backward(dhidden_, ctx, T, d_ff_, fc1_.weight().shard_offset);
  if (!swiglu()) {
    ops::activation_backward(activation_, pre_act_, dhidden_, dhidden_);
    fc1_.backward(x, dhidden_, dx, {.complete = complete_dx});
    return;
  }
  // dhidden_ becomes the gate's gradient; gate and up read one x, so the
  // group sums their input gradients once.
  Tensor::ensure(dup_, dhidden_.shape(), x.dtype(), x.device());
  ops::swiglu_backward(dhidden_, pre_act_, up_, dhidden_, dup_);
  gate_->backward(x, dhidden_, dx, {.complete = false});
  fc1_.backward(x, dup_, dx, {.accumulate = true, .complete = complete_dx});
}

void FeedForward::release_activations() {
  pre_act_ = Tensor(), hidden_ = Tensor(), up_ = Tensor(), dhidden_ = Tensor(), dup_ = Tensor();
}

}  // namespace weft
