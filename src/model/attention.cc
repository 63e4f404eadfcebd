#include "weft/model/attention.h"

#include <cmath>

#include "weft/backend/attention.h"
#include "weft/backend/flash_attention.h"
#include "weft/backend/repeat_kv.h"
#include "weft/backend/rotary.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

int64_t heads_per_rank(const std::string& name, int64_t n_heads, const char* what,
                       const LayerContext& ctx) {
  WEFT_CHECK(n_heads % ctx.tp->size() == 0, name, ": ", n_heads, " ", what,
             " do not divide across ", ctx.tp->size(), " tensor-parallel ranks");
  return n_heads / ctx.tp->size();
}

int64_t kv_heads(const AttentionShape& s) { return s.n_kv_heads > 0 ? s.n_kv_heads : s.n_heads; }

}  // namespace

AttentionShape attention_shape(const ModelConfig& c, AttentionKind kind) {
  const bool rotary = c.positions == PositionEncoding::Rotary && kind != AttentionKind::Cross;
  return {.d_model = c.d_model,
          .n_heads = c.n_heads,
          .n_kv_heads = c.kv_heads(),
          .rope_theta = rotary ? c.rope_theta : 0.0,
          .bias = c.bias};
}

MultiHeadAttention::MultiHeadAttention(std::string name, const AttentionShape& shape,
                                       AttentionKind kind, const LayerContext& ctx,
                                       double init_std, double out_init_std)
    : Module(std::move(name)),
      kind_(kind),
      heads_local_(heads_per_rank(this->name(), shape.n_heads, "heads", ctx)),
      kv_heads_local_(heads_per_rank(this->name(), kv_heads(shape), "key/value heads", ctx)),
      groups_(shape.n_heads / kv_heads(shape)),
      head_dim_(shape.d_model / shape.n_heads),
      rope_theta_(shape.rope_theta),
      q_(child_name("q"), shape.d_model, shape.d_model, ctx, Parallel::Column, init_std,
         shape.bias),
      k_(child_name("k"), shape.d_model, kv_heads(shape) * head_dim_, ctx, Parallel::Column,
         init_std, shape.bias),
      v_(child_name("v"), shape.d_model, kv_heads(shape) * head_dim_, ctx, Parallel::Column,
         init_std, shape.bias),
      o_(child_name("o"), shape.d_model, shape.d_model, ctx, Parallel::Row, out_init_std,
         shape.bias) {
  WEFT_CHECK(shape.n_heads % kv_heads(shape) == 0, this->name(), ": ", kv_heads(shape),
             " key/value heads do not divide ", shape.n_heads, " query heads");
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

void MultiHeadAttention::ensure_kv_heads(Tensor& t, int64_t batch, int64_t len,
                                         const Tensor& like) const {
  Tensor::ensure(t, {batch, len, kv_heads_local_, head_dim_}, like.dtype(), like.device());
}

const Tensor& MultiHeadAttention::per_query_head(const Tensor& kv, Tensor& repeated) const {
  if (groups_ == 1) return kv;
  ensure_heads(repeated, kv.dim(0), kv.dim(1), kv);
  ops::repeat_kv_forward(kv, groups_, repeated);
  return repeated;
}

void MultiHeadAttention::rotate(Tensor& heads, int64_t start) const {
  if (rope_theta_ > 0.0) ops::rotary_forward(heads, start, rope_theta_, heads);
}

void MultiHeadAttention::rotate_back(Tensor& dheads) const {
  if (rope_theta_ > 0.0) ops::rotary_backward(dheads, 0, rope_theta_, dheads);
}

void MultiHeadAttention::forward(const Tensor& x, const Tensor& memory, const Tensor& key_valid,
                                 Tensor& y, bool recompute_core, bool partial_output) {
  const Tensor& kv_in = kind_ == AttentionKind::Cross ? memory : x;
  const int64_t B = x.dim(0), T = x.dim(1), S = kv_in.dim(1);
  const int64_t local = heads_local_ * head_dim_, kv_local = kv_heads_local_ * head_dim_;
  ensure_heads(q_out_, B, T, x);
  ensure_kv_heads(k_out_, B, S, x);
  ensure_kv_heads(v_out_, B, S, x);
  if (flash_) {
    Tensor::ensure(lse_, {B, heads_local_, T}, DType::F32, x.device());
  } else {
    Tensor::ensure(probs_, {B, heads_local_, T, S}, x.dtype(), x.device());
  }
  ensure_heads(heads_, B, T, x);
  key_valid_ = &key_valid;

  Tensor q2 = q_out_.view({B, T, local}), k2 = k_out_.view({B, S, kv_local}),
         v2 = v_out_.view({B, S, kv_local});
  q_.forward(x, q2);
  k_.forward(kv_in, k2);
  v_.forward(kv_in, v2);
  rotate(q_out_, 0);
  rotate(k_out_, 0);
  const Tensor& keys = per_query_head(k_out_, k_rep_);
  const Tensor& values = per_query_head(v_out_, v_rep_);
  const double scale = score_scale();
  const bool causal = kind_ == AttentionKind::CausalSelf;
  if (flash_) {
    ops::flash_attention_forward(q_out_, keys, values, key_valid, causal, scale, lse_, heads_);
  } else {
    ops::attention_forward(q_out_, keys, values, key_valid, causal, scale, probs_, heads_);
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
  for (Tensor* t : {&lse_, &q_out_, &k_out_, &v_out_, &k_rep_, &v_rep_, &probs_, &heads_, &dheads_,
                    &dq_, &dk_, &dv_, &dprobs_, &dk_kv_, &dv_kv_}) {
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
  const Tensor& keys = groups_ > 1 ? k_rep_ : k_out_;
  const Tensor& values = groups_ > 1 ? v_rep_ : v_out_;
  if (recompute_core_) {
    // The same forward on the same q, k: the same probabilities, bit for
    // bit. heads_ is rewritten with what it held; o has read it already.
    Tensor::ensure(probs_, {B, heads_local_, T, S}, x.dtype(), x.device());
    ops::attention_forward(q_out_, keys, values, *key_valid_, kind_ == AttentionKind::CausalSelf,
                           scale, probs_, heads_);
  }
  if (flash_) {
    ops::flash_attention_backward(q_out_, keys, values, *key_valid_,
                                  kind_ == AttentionKind::CausalSelf, scale, heads_, lse_,
                                  dheads_, dq_, dk_, dv_);
  } else {
    ops::attention_backward(q_out_, keys, values, probs_, dheads_, scale, dprobs_, dq_, dk_, dv_);
  }
  // Back to the key/value heads: each one's gradient sums its query heads'.
  Tensor* dk_heads = &dk_;
  Tensor* dv_heads = &dv_;
  if (groups_ > 1) {
    ensure_kv_heads(dk_kv_, B, S, x);
    ensure_kv_heads(dv_kv_, B, S, x);
    ops::repeat_kv_backward(dk_, groups_, dk_kv_);
    ops::repeat_kv_backward(dv_, groups_, dv_kv_);
    dk_heads = &dk_kv_, dv_heads = &dv_kv_;
  }
  rotate_back(dq_);
  rotate_back(*dk_heads);

  // q, k, v are column-parallel: each adds a partial sum over this rank's
  // heads to its input's gradient, and the region's entry "f" sums it over
  // the group once. Self: q, k and v read x, so v, the last, completes dx.
  // Cross: q alone reads x; k and v add to dmemory, which collects partial
  // sums from every decoder layer and is summed once by the model before the
  // encoder's backward.
  const int64_t kv_local = kv_heads_local_ * head_dim_;
  const Tensor dq = dq_.view({B, T, local}), dk = dk_heads->view({B, S, kv_local}),
               dv = dv_heads->view({B, S, kv_local});
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
  WEFT_CHECK(k_cache.dim(0) == B && end <= cap && k_cache.dim(2) == kv_heads_local_, name(),
             ": positions [", start, ", ", end, ") of ", B, " sequences in ", kv_heads_local_,
             " key/value heads do not fit a cache of ", k_cache.describe());
  const int64_t local = heads_local_ * head_dim_, kv_local = kv_heads_local_ * head_dim_;
  ensure_heads(q_out_, B, T, x);
  ensure_kv_heads(k_out_, B, T, x);
  ensure_kv_heads(v_out_, B, T, x);
  ensure_heads(heads_, B, T, x);
  Tensor::ensure(probs_, {1, heads_local_, T, end}, x.dtype(), x.device());
  Tensor q2 = q_out_.view({B, T, local}), k2 = k_out_.view({B, T, kv_local}),
         v2 = v_out_.view({B, T, kv_local});
  q_.forward(x, q2);
  k_.forward(x, k2);
  v_.forward(x, v2);
  rotate(q_out_, start);
  rotate(k_out_, start);

  // One sequence at a time: row b's cached prefix (1,end,Hkv_local,Dh) is
  // contiguous, while the rows' prefixes together are not (each row has
  // `cap` slots), and attention_forward reads keys densely.
  const double scale = score_scale();
  const bool causal = kind_ == AttentionKind::CausalSelf;
  for (int64_t b = 0; b < B; ++b) {
    Tensor k_row = k_cache.rows(b, b + 1).view({cap, kv_heads_local_, head_dim_});
    Tensor v_row = v_cache.rows(b, b + 1).view({cap, kv_heads_local_, head_dim_});
    Tensor k_new = k_row.rows(start, end), v_new = v_row.rows(start, end);
    k_new.copy_from(k_out_.rows(b, b + 1).view({T, kv_heads_local_, head_dim_}));
    v_new.copy_from(v_out_.rows(b, b + 1).view({T, kv_heads_local_, head_dim_}));
    // Named: per_query_head may return its argument.
    const Tensor k_prefix = k_row.rows(0, end).view({1, end, kv_heads_local_, head_dim_});
    const Tensor v_prefix = v_row.rows(0, end).view({1, end, kv_heads_local_, head_dim_});
    const Tensor& keys = per_query_head(k_prefix, k_rep_);
    const Tensor& values = per_query_head(v_prefix, v_rep_);
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
  const int64_t B = memory.dim(0), S = memory.dim(1), kv_local = kv_heads_local_ * head_dim_;
  ensure_kv_heads(k, B, S, memory);
  ensure_kv_heads(v, B, S, memory);
  Tensor k2 = k.view({B, S, kv_local}), v2 = v.view({B, S, kv_local});
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
  ops::attention_forward(q_out_, per_query_head(k, k_rep_), per_query_head(v, v_rep_),
                         memory_valid, false, scale, probs_, heads_);
  o_.forward(heads_.view({B, T, local}), y);
}

}  // namespace weft
