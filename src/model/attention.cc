#include "weft/model/attention.h"

#include <cmath>

#include "weft/backend/attention.h"
#include "weft/backend/flash_attention.h"
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
      q_(child_name("q"), d_model, d_model, ctx, Parallel::Column, init_std),
      k_(child_name("k"), d_model, d_model, ctx, Parallel::Column, init_std),
      v_(child_name("v"), d_model, d_model, ctx, Parallel::Column, init_std),
      o_(child_name("o"), d_model, d_model, ctx, Parallel::Row, out_init_std) {
  // Memory, not arithmetic, limits attention on a GPU: flash attention never
  // writes the probabilities out. The CPU keeps the probabilities form, whose
  // GEMMs run faster there.
  flash_ = ctx.device == Device::CUDA;
  add_child(q_);
  add_child(k_);
  add_child(v_);
  add_child(o_);
}

void MultiHeadAttention::ensure_heads(Tensor& t, int64_t batch, int64_t len,
                                      const Tensor& like) const {
  Tensor::ensure(t, {batch, len, heads_local_, head_dim_}, like.dtype(), like.device());
}

void MultiHeadAttention::forward(const Tensor& x, const Tensor& memory, const Tensor& key_valid,
                                 Tensor& y, bool recompute_core, bool partial_output) {
  const Tensor& kv_in = kind_ == AttentionKind::Cross ? memory : x;
  const int64_t B = x.dim(0), T = x.dim(1), S = kv_in.dim(1);
  const int64_t local = heads_local_ * head_dim_;
  ensure_heads(q_out_, B, T, x);
  ensure_heads(k_out_, B, S, x);
  ensure_heads(v_out_, B, S, x);
  if (flash_) {
    Tensor::ensure(lse_, {B, heads_local_, T}, DType::F32, x.device());
  } else {
    Tensor::ensure(probs_, {B, heads_local_, T, S}, x.dtype(), x.device());
  }
  ensure_heads(heads_, B, T, x);
  key_valid_ = &key_valid;

  Tensor q2 = q_out_.view({B, T, local}), k2 = k_out_.view({B, S, local}),
         v2 = v_out_.view({B, S, local});
  q_.forward(x, q2);
  k_.forward(kv_in, k2);
  v_.forward(kv_in, v2);
  const double scale = score_scale();
  const bool causal = kind_ == AttentionKind::CausalSelf;
  if (flash_) {
    ops::flash_attention_forward(q_out_, k_out_, v_out_, key_valid, causal, scale, lse_, heads_);
  } else {
    ops::attention_forward(q_out_, k_out_, v_out_, key_valid, causal, scale, probs_, heads_);
  }
  if (partial_output) {
    o_.forward_partial(heads_.view({B, T, local}), y);
  } else {
    o_.forward(heads_.view({B, T, local}), y);
  }
  recompute_core_ = recompute_core && !flash_;
  if (recompute_core_) probs_ = Tensor();
}

void MultiHeadAttention::release_activations() {
  for (Tensor* t : {&lse_, &q_out_, &k_out_, &v_out_, &probs_, &heads_, &dheads_, &dq_, &dk_, &dv_,
                    &dprobs_}) {
    *t = Tensor();
  }
}

void MultiHeadAttention::backward(const Tensor& dy, const Tensor& x, const Tensor& memory,
                                  Tensor& dx, Tensor& dmemory, bool complete_dx) {
  const bool cross = kind_ == AttentionKind::Cross;
  const Tensor& kv_in = cross ? memory : x;
  const int64_t B = x.dim(0), T = x.dim(1), S = kv_in.dim(1);
  const int64_t local = heads_local_ * head_dim_;
  ensure_heads(dheads_, B, T, x);
  ensure_heads(dq_, B, T, x);
  ensure_heads(dk_, B, S, x);
  ensure_heads(dv_, B, S, x);
  if (!flash_) Tensor::ensure(dprobs_, {B, heads_local_, T, S}, x.dtype(), x.device());

  Tensor dheads2 = dheads_.view({B, T, local});
  o_.backward(heads_.view({B, T, local}), dy, dheads2);
  const double scale = score_scale();
  if (recompute_core_) {
    // The same forward on the same q, k: the same probabilities, bit for
    // bit. heads_ is rewritten with what it held; o has read it already.
    Tensor::ensure(probs_, {B, heads_local_, T, S}, x.dtype(), x.device());
    ops::attention_forward(q_out_, k_out_, v_out_, *key_valid_, kind_ == AttentionKind::CausalSelf,
                           scale, probs_, heads_);
  }
  if (flash_) {
    ops::flash_attention_backward(q_out_, k_out_, v_out_, *key_valid_,
                                  kind_ == AttentionKind::CausalSelf, scale, heads_, lse_,
                                  dheads_, dq_, dk_, dv_);
  } else {
    ops::attention_backward(q_out_, k_out_, v_out_, probs_, dheads_, scale, dprobs_, dq_, dk_,
                            dv_);
  }

  // q, k, v are column-parallel: each adds a partial sum over this rank's
  // heads to its input's gradient, and the region's entry "f" sums it over
  // the group once. Self: q, k and v read x, so v, the last, completes dx.
  // Cross: q alone reads x; k and v add to dmemory, which collects partial
  // sums from every decoder layer and is summed once by the model before the
  // encoder's backward.
  const Tensor dq = dq_.view({B, T, local}), dk = dk_.view({B, S, local}),
               dv = dv_.view({B, S, local});
  if (cross) {
    q_.backward(x, dq, dx, {.complete = complete_dx});
    k_.backward(memory, dk, dmemory, {.accumulate = true, .complete = false});
    v_.backward(memory, dv, dmemory, {.accumulate = true, .complete = false});
  } else {
    q_.backward(x, dq, dx, {.complete = false});
    k_.backward(x, dk, dx, {.accumulate = true, .complete = false});
    v_.backward(x, dv, dx, {.accumulate = true, .complete = complete_dx});
  }
  // Selective: one layer's (T,S) tensors exist at a time.
  if (recompute_core_) probs_ = Tensor(), dprobs_ = Tensor();
}

void MultiHeadAttention::forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache,
                                        int64_t start, const Tensor& key_valid, Tensor& y) {
  WEFT_CHECK(kind_ != AttentionKind::Cross, name(), ": cross-attention reads its keys from ",
             "project_memory, not from a self-attention cache");
  const int64_t B = x.dim(0), T = x.dim(1), cap = k_cache.dim(1), end = start + T;
  WEFT_CHECK(k_cache.dim(0) == B && end <= cap, name(), ": positions [", start, ", ", end,
             ") of ", B, " sequences do not fit a cache of ", k_cache.describe());
  const int64_t local = heads_local_ * head_dim_;
  ensure_heads(q_out_, B, T, x);
  ensure_heads(k_out_, B, T, x);
  ensure_heads(v_out_, B, T, x);
  ensure_heads(heads_, B, T, x);
  Tensor::ensure(probs_, {1, heads_local_, T, end}, x.dtype(), x.device());
  Tensor q2 = q_out_.view({B, T, local}), k2 = k_out_.view({B, T, local}),
         v2 = v_out_.view({B, T, local});
  q_.forward(x, q2);
  k_.forward(x, k2);
  v_.forward(x, v2);

  // One sequence at a time: row b's cached prefix (1,end,H_local,Dh) is
  // contiguous, while the rows' prefixes together are not (each row has
  // `cap` slots), and attention_forward reads keys densely.
  const double scale = score_scale();
  const bool causal = kind_ == AttentionKind::CausalSelf;
  for (int64_t b = 0; b < B; ++b) {
    Tensor k_row = k_cache.rows(b, b + 1).view({cap, heads_local_, head_dim_});
    Tensor v_row = v_cache.rows(b, b + 1).view({cap, heads_local_, head_dim_});
    Tensor k_new = k_row.rows(start, end), v_new = v_row.rows(start, end);
    k_new.copy_from(k_out_.rows(b, b + 1).view({T, heads_local_, head_dim_}));
    v_new.copy_from(v_out_.rows(b, b + 1).view({T, heads_local_, head_dim_}));
    const Tensor keys = k_row.rows(0, end).view({1, end, heads_local_, head_dim_});
    const Tensor values = v_row.rows(0, end).view({1, end, heads_local_, head_dim_});
    const Tensor valid = key_valid.defined()
                             ? key_valid.rows(b, b + 1).view({cap}).rows(0, end).view({1, end})
                             : Tensor();
    Tensor out = heads_.rows(b, b + 1);
    ops::attention_forward(q_out_.rows(b, b + 1), keys, values, valid, causal, scale, probs_, out);
  }
  o_.forward(heads_.view({B, T, local}), y);
}

void MultiHeadAttention::project_memory(const Tensor& memory, Tensor& k, Tensor& v) {
  WEFT_CHECK(kind_ == AttentionKind::Cross, name(), ": only cross-attention projects memory");
  const int64_t B = memory.dim(0), S = memory.dim(1), local = heads_local_ * head_dim_;
  ensure_heads(k, B, S, memory);
  ensure_heads(v, B, S, memory);
  Tensor k2 = k.view({B, S, local}), v2 = v.view({B, S, local});
  k_.forward(memory, k2);
  v_.forward(memory, v2);
}

void MultiHeadAttention::forward_memory(const Tensor& x, const Tensor& k, const Tensor& v,
                                        const Tensor& memory_valid, Tensor& y) {
  WEFT_CHECK(kind_ == AttentionKind::Cross, name(), ": only cross-attention reads memory");
  const int64_t B = x.dim(0), T = x.dim(1), S = k.dim(1), local = heads_local_ * head_dim_;
  ensure_heads(q_out_, B, T, x);
  ensure_heads(heads_, B, T, x);
  Tensor::ensure(probs_, {B, heads_local_, T, S}, x.dtype(), x.device());
  Tensor q2 = q_out_.view({B, T, local});
  q_.forward(x, q2);
  const double scale = score_scale();
  ops::attention_forward(q_out_, k, v, memory_valid, false, scale, probs_, heads_);
  o_.forward(heads_.view({B, T, local}), y);
}

}  // namespace weft
