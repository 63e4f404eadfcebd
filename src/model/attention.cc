#include "weft/model/attention.h"

#include <cmath>

#include "weft/backend/attention.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

int64_t heads_per_rank(const std::string& name, int64_t n_heads, const LayerContext& ctx) {
  WEFT_CHECK(n_heads % ctx.tp->size() == 0, name, ": ", n_heads,
             " heads do not divide across ", ctx.tp->size(), " tensor-parallel ranks");
  return n_heads / ctx.tp->size();
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(std::string name, int64_t d_model, int64_t n_heads,
                                       AttentionKind kind, const LayerContext& ctx,
                                       double init_std, double out_init_std)
    : Module(std::move(name)),
      kind_(kind),
      heads_local_(heads_per_rank(this->name(), n_heads, ctx)),
      head_dim_(d_model / n_heads),
      tp_(ctx.tp),
      q_(child_name("q"), d_model, d_model, ctx, Parallel::Column, init_std),
      k_(child_name("k"), d_model, d_model, ctx, Parallel::Column, init_std),
      v_(child_name("v"), d_model, d_model, ctx, Parallel::Column, init_std),
      o_(child_name("o"), d_model, d_model, ctx, Parallel::Row, out_init_std) {
  add_child(q_);
  add_child(k_);
  add_child(v_);
  add_child(o_);
}

void MultiHeadAttention::forward(const Tensor& x, const Tensor& memory, const Tensor& key_valid,
                                 Tensor& y) {
  const Tensor& kv_in = kind_ == AttentionKind::Cross ? memory : x;
  const int64_t B = x.dim(0), T = x.dim(1), S = kv_in.dim(1);
  const int64_t local = heads_local_ * head_dim_;
  const DType dt = x.dtype();
  const Device dev = x.device();
  Tensor::ensure(q_out_, {B, T, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(k_out_, {B, S, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(v_out_, {B, S, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(probs_, {B, heads_local_, T, S}, dt, dev);
  Tensor::ensure(heads_, {B, T, heads_local_, head_dim_}, dt, dev);

  Tensor q2 = q_out_.view({B, T, local}), k2 = k_out_.view({B, S, local}),
         v2 = v_out_.view({B, S, local});
  q_.forward(x, q2);
  k_.forward(kv_in, k2);
  v_.forward(kv_in, v2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  ops::attention_forward(q_out_, k_out_, v_out_, key_valid, kind_ == AttentionKind::CausalSelf,
                         scale, probs_, heads_);
  o_.forward(heads_.view({B, T, local}), y);
}

void MultiHeadAttention::backward(const Tensor& dy, const Tensor& x, const Tensor& memory,
                                  Tensor& dx, Tensor& dmemory) {
  const bool cross = kind_ == AttentionKind::Cross;
  const Tensor& kv_in = cross ? memory : x;
  const int64_t B = x.dim(0), T = x.dim(1), S = kv_in.dim(1);
  const int64_t local = heads_local_ * head_dim_;
  const DType dt = x.dtype();
  const Device dev = x.device();
  Tensor::ensure(dheads_, {B, T, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(dq_, {B, T, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(dk_, {B, S, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(dv_, {B, S, heads_local_, head_dim_}, dt, dev);
  Tensor::ensure(dprobs_, probs_.shape(), dt, dev);

  Tensor dheads2 = dheads_.view({B, T, local});
  o_.backward(heads_.view({B, T, local}), dy, dheads2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  ops::attention_backward(q_out_, k_out_, v_out_, probs_, dheads_, scale, dprobs_, dq_, dk_, dv_);

  // q, k, v are column-parallel: each rank's input gradient is a partial sum
  // over its heads, completed by the "f" all-reduce at the region's entry.
  // For Cross, dmemory collects partial sums from every decoder layer; the
  // model reduces it once before the encoder's backward.
  q_.backward(x, dq_.view({B, T, local}), dx);
  Tensor& dkv = cross ? dmemory : dx;  // both already hold a part: accumulate
  k_.backward(kv_in, dk_.view({B, S, local}), dkv, true);
  v_.backward(kv_in, dv_.view({B, S, local}), dkv, true);
  tp_->all_reduce_sum(dx);
}

}  // namespace weft
