#include "weft/model/residual.h"

#include "weft/backend/elementwise.h"
#include "weft/model/sequence_parallel.h"

namespace weft {

Residual::Residual(std::string name, const ModelConfig& c, const LayerContext& ctx)
    : Module(std::move(name)),
      placement_(c.norm),
      norm_(child_name("norm"), c.norm_type, c.d_model, c.norm_eps, ctx),
      dropout_(child_name("dropout"), c.dropout) {
  add_child(norm_);
}

namespace {

// Positions per sequence: x is (B,T,d), or a sequence-parallel shard of rows.
int64_t sequence_length(const Tensor& x, const StepContext& ctx) {
  return ctx.sequence_shard != nullptr ? ctx.sequence_shard->seq : x.dim(1);
}

}  // namespace

const Tensor& Residual::forward(const Tensor& x, const Forward& f, const StepContext& ctx) {
  const int64_t T = sequence_length(x, ctx);
  Tensor::ensure(out_, x.shape(), x.dtype(), x.device());
  if (placement_ == NormPlacement::Pre) {
    Tensor::ensure(normed_, x.shape(), x.dtype(), x.device());
    norm_.forward(x, normed_);
    f(normed_, out_);
    dropout_.forward(out_, ctx, T);
    ops::add(x, out_, out_);
  } else {
    Tensor::ensure(sum_, x.shape(), x.dtype(), x.device());
    f(x, sum_);
    dropout_.forward(sum_, ctx, T);
    norm_.forward_add(sum_, x, sum_, out_);  // sum_ += x, then the norm, in one pass
  }
  return out_;
}

void Residual::backward(const Tensor& dy, const Tensor& x, const Backward& f, Tensor& dx,
                        const StepContext& ctx) {
  const int64_t T = sequence_length(x, ctx);
  Tensor::ensure(dsub_, x.shape(), x.dtype(), x.device());
  if (placement_ == NormPlacement::Pre) {
    Tensor::ensure(dnormed_, x.shape(), x.dtype(), x.device());
    dsub_.copy_from(dy);
    dropout_.backward(dsub_, ctx, T);
    f(dsub_, normed_, dnormed_);
    norm_.backward(dnormed_, x, dx);
    ops::axpy(1.0, dy, dx);  // the residual path
  } else {
    Tensor::ensure(dsum_, x.shape(), x.dtype(), x.device());
    norm_.backward(dy, sum_, dsum_);
    dsub_.copy_from(dsum_);
    dropout_.backward(dsub_, ctx, T);
    f(dsub_, x, dx);
    ops::axpy(1.0, dsum_, dx);  // the residual path
  }
}

void Residual::release_activations(bool keep_output) {
  for (Tensor* t : {&normed_, &sum_, &dsum_, &dsub_, &dnormed_}) *t = Tensor();
  if (!keep_output) out_ = Tensor();
}

}  // namespace weft
