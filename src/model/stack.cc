#include "weft/model/stack.h"

#include <cmath>

#include "weft/tensor/error.h"

namespace weft {

TransformerStack::TransformerStack(std::string name, const ModelConfig& c, TokenEmbedding& tokens,
                                   int64_t n_layers, bool causal, bool cross,
                                   const LayerContext& ctx)
    : Module(std::move(name)),
      tokens_(tokens),
      embed_scale_(c.scale_embeddings ? std::sqrt(static_cast<double>(c.d_model)) : 1.0),
      positions_(child_name("embed_positions"), c, ctx),
      embed_dropout_(child_name("embed_dropout"), c.dropout),
      tp_(ctx.tp),
      sequence_parallel_(ctx.sequence_parallel && ctx.tp->size() > 1) {
  add_child(positions_);
  if (c.encoder_only()) {
    if (c.n_token_types > 0) {
      segments_ = std::make_unique<SegmentEmbedding>(child_name("embed_segments"), c, ctx);
      add_child(*segments_);
    }
    embed_norm_ =
        std::make_unique<Norm>(child_name("embed_norm"), c.norm_type, c.d_model, c.norm_eps, ctx);
    add_child(*embed_norm_);
  }
  for (int64_t i = 0; i < n_layers; ++i) {
    blocks_.push_back(std::make_unique<TransformerBlock>(
        child_name("layers." + std::to_string(i)), c, causal, cross, n_layers, ctx));
    add_child(*blocks_.back());
    blocks_.back()->share_sequence_scratch(&scratch_);
  }
  if (c.norm == NormPlacement::Pre) {
    final_norm_ =
        std::make_unique<Norm>(child_name("final_norm"), c.norm_type, c.d_model, c.norm_eps, ctx);
    add_child(*final_norm_);
  }
}

const Tensor& TransformerStack::block_input(size_t i) const {
  return i == 0 ? embedded_ : blocks_[i - 1]->output();
}

StepContext TransformerStack::with_shard(const StepContext& ctx) const {
  StepContext sp = ctx;
  if (split_rows_) sp.sequence_shard = &shard_;
  return sp;
}

const Tensor& TransformerStack::forward(const Tensor& ids, const Tensor& valid,
                                        const Tensor& memory, const Tensor& memory_valid,
                                        const StepContext& ctx) {
  // Training only: evaluation and inference (which call the stack directly)
  // see whole sequences.
  split_rows_ = sequence_parallel_ && ctx.training;
  if (split_rows_) shard_ = sequence_shard(ids.dim(0), ids.dim(1), *tp_);
  const StepContext sp = with_shard(ctx);
  const Tensor* h = split_rows_ ? &embed_rows(ids, sp) : &embed(ids, 0, ctx);
  for (auto& block : blocks_) h = &block->forward(*h, valid, memory, memory_valid, sp);
  return finish(*h);
}

const Tensor& TransformerStack::embed_rows(const Tensor& ids, const StepContext& sp) {
  const int64_t B = ids.dim(0), T = ids.dim(1), d = positions_.dim();
  Tensor::ensure(embedded_full_, {B, T, d}, tokens_.table().value.dtype(), ids.device());
  tokens_.forward_partial(ids, embed_scale_, embedded_full_);
  // Every row of a token's embedding comes from the one rank holding it, the
  // others add zeros: the sum is exact, as is adding the positions (and
  // segments) once.
  if (tp_->rank() == 0) {
    positions_.forward(embedded_full_, 0);
    add_segments(embedded_full_);
  }
  scatter_sequence(*tp_, shard_, embedded_full_, embedding_sum(), scratch_.staging);
  if (embed_norm_) {
    Tensor::ensure(embedded_, embed_sum_.shape(), embed_sum_.dtype(), embed_sum_.device());
    embed_norm_->forward(embed_sum_, embedded_);
  }
  embed_dropout_.forward(embedded_, sp, T);
  return embedded_;
}

const Tensor& TransformerStack::embed(const Tensor& ids, int64_t start, const StepContext& ctx) {
  const int64_t B = ids.dim(0), T = ids.dim(1), d = positions_.dim();
  Tensor& sum = embedding_sum();
  Tensor::ensure(sum, {B, T, d}, tokens_.table().value.dtype(), ids.device());
  tokens_.forward(ids, embed_scale_, sum);
  positions_.forward(sum, start);
  add_segments(sum);
  if (embed_norm_) {
    Tensor::ensure(embedded_, sum.shape(), sum.dtype(), sum.device());
    embed_norm_->forward(sum, embedded_);
  }
  embed_dropout_.forward(embedded_, ctx, T);
  return embedded_;
}

void TransformerStack::add_segments(Tensor& x) {
  if (!segments_) return;
  WEFT_CHECK(types_ != nullptr && types_->shape() == Shape({x.dim(0), x.dim(1)}), name(),
             ": segment embeddings need the segments of the ids (use_segments)");
  segments_->forward(*types_, x);
}

const Tensor& TransformerStack::embedding_sum_grad(Tensor& dembedded, const StepContext& ctx,
                                                   int64_t T) {
  embed_dropout_.backward(dembedded, ctx, T);
  if (!embed_norm_) return dembedded;
  Tensor::ensure(dembed_sum_, dembedded.shape(), dembedded.dtype(), dembedded.device());
  embed_norm_->backward(dembedded, embed_sum_, dembed_sum_);
  return dembed_sum_;
}

const Tensor& TransformerStack::finish(const Tensor& h) {
  if (!final_norm_) return h;
  Tensor::ensure(normed_, h.shape(), h.dtype(), h.device());
  final_norm_->forward(h, normed_);
  return normed_;
}

const Tensor& TransformerStack::forward_cached(const Tensor& ids, KVCache& cache) {
  WEFT_CHECK(cache.layers() == blocks_.size(), name(), ": the cache was sized for ",
             cache.layers(), " layers, the stack has ", blocks_.size());
  const int64_t start = cache.length();
  const Tensor* h = &embed(ids, start, StepContext{});
  for (size_t i = 0; i < blocks_.size(); ++i) {
    h = &blocks_[i]->forward_cached(*h, cache.layer(i), start, cache.self_valid(),
                                    cache.memory_valid());
  }
  return finish(*h);
}

void TransformerStack::project_memory(const Tensor& memory, KVCache& cache) {
  for (size_t i = 0; i < blocks_.size(); ++i) blocks_[i]->project_memory(memory, cache.layer(i));
}

void TransformerStack::backward(const Tensor& dhidden, const Tensor& ids, const Tensor& memory,
                                Tensor& dmemory, const StepContext& ctx_in) {
  const StepContext ctx = with_shard(ctx_in);
  const Tensor* d = &dhidden;
  const Tensor& last = block_input(blocks_.size());
  if (final_norm_) {
    Tensor::ensure(dfinal_, last.shape(), last.dtype(), last.device());
    final_norm_->backward(dhidden, last, dfinal_);
    d = &dfinal_;
  }
  for (size_t i = blocks_.size(); i-- > 0;) {
    Tensor& dx = dbuf_[i % 2];
    Tensor::ensure(dx, last.shape(), last.dtype(), last.device());
    blocks_[i]->backward(*d, block_input(i), memory, dx, dmemory, ctx);
    d = &dx;
  }
  Tensor& dembedded = dbuf_[0];  // written by block 0 (a stack has at least one)
  const Tensor& dsum = embedding_sum_grad(dembedded, ctx, ids.dim(1));
  if (split_rows_) {
    // The reduce-scatter's conjugate: every rank gets the whole gradient.
    gather_sequence(*tp_, shard_, dsum, embedded_full_, scratch_.staging);
    positions_.backward(embedded_full_, 0);
    if (segments_) segments_->backward(embedded_full_, *types_);
    tokens_.backward(embedded_full_, ids, embed_scale_);
    return;
  }
  positions_.backward(dsum, 0);
  if (segments_) segments_->backward(dsum, *types_);
  tokens_.backward(dsum, ids, embed_scale_);
}

const Tensor& TransformerStack::whole_sequences(const Tensor& output) {
  if (!split_rows_) return output;
  gather_sequence(*tp_, shard_, output, output_whole_, scratch_.staging);
  return output_whole_;
}

const Tensor& TransformerStack::own_rows(const Tensor& dwhole) {
  if (!split_rows_) return dwhole;
  scatter_sequence(*tp_, shard_, dwhole, doutput_rows_, scratch_.staging);
  return doutput_rows_;
}

}  // namespace weft
