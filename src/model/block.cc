#include "weft/model/block.h"

#include <cmath>

#include "weft/tensor/error.h"

namespace weft {

namespace {
double residual_init_std(const ModelConfig& c, int64_t n_layers) {
  return c.init_std / std::sqrt(2.0 * static_cast<double>(n_layers));
}
AttentionKind self_kind(bool causal) {
  return causal ? AttentionKind::CausalSelf : AttentionKind::Self;
}
}  // namespace

TransformerBlock::TransformerBlock(std::string name, const ModelConfig& c, bool causal, bool cross,
                                   int64_t n_layers, const LayerContext& ctx)
    : Module(std::move(name)),
      self_attn_(child_name("self_attn"), attention_shape(c, self_kind(causal)), self_kind(causal),
                 ctx, c.init_std, residual_init_std(c, n_layers)),
      ffn_(child_name("ffn"), feed_forward_shape(c), c.dropout, ctx, c.init_std,
           residual_init_std(c, n_layers)),
      self_res_(child_name("self_attn"), c, ctx),
      ffn_res_(child_name("ffn"), c, ctx),
      tp_(ctx.tp) {
  add_child(self_res_);
  add_child(self_attn_);
  if (cross) {
    cross_attn_.emplace(child_name("cross_attn"), attention_shape(c, AttentionKind::Cross),
                        AttentionKind::Cross, ctx, c.init_std, residual_init_std(c, n_layers));
    cross_res_.emplace(child_name("cross_attn"), c, ctx);
    add_child(*cross_res_);
    add_child(*cross_attn_);
  }
  add_child(ffn_res_);
  add_child(ffn_);
}

const Tensor& TransformerBlock::forward(const Tensor& x, const Tensor& self_valid,
                                        const Tensor& memory, const Tensor& memory_valid,
                                        const StepContext& ctx) {
  self_valid_ = &self_valid;
  memory_valid_ = &memory_valid;
  const Tensor& y = run_forward(x, self_valid, memory, memory_valid, ctx);
  if (ctx.training && ctx.recompute == Recompute::Full) release_activations();
  return y;
}

void TransformerBlock::release_activations() {
  self_attn_.release_activations();
  self_res_.release_activations(/*keep_output=*/false);
  if (cross_attn_) {
    cross_attn_->release_activations();
    cross_res_->release_activations(/*keep_output=*/false);
  }
  ffn_.release_activations();
  ffn_res_.release_activations(/*keep_output=*/true);
  dmid1_ = Tensor(), dmid2_ = Tensor();
}

void TransformerBlock::sublayer_forward(const Tensor& in, Tensor& out, const StepContext& ctx,
                                        const SublayerForward& run) {
  if (ctx.sequence_shard == nullptr) {
    run(in, out, /*partial=*/false);
    return;
  }
  // Enter through an all-gather of the rows, leave through a reduce-scatter.
  WEFT_CHECK(scratch_ != nullptr, name(), ": sequence parallel without the stack's scratch");
  SequenceScratch& s = *scratch_;
  gather_sequence(*tp_, *ctx.sequence_shard, in, s.gathered, s.staging);
  Tensor::ensure(s.partial, s.gathered.shape(), s.gathered.dtype(), s.gathered.device());
  run(s.gathered, s.partial, /*partial=*/true);
  scatter_sequence(*tp_, *ctx.sequence_shard, s.partial, out, s.staging);
}

void TransformerBlock::sublayer_backward(const Tensor& dout, const Tensor& in, Tensor& din,
                                         const StepContext& ctx, const SublayerBackward& run) {
  if (ctx.sequence_shard == nullptr) {
    run(dout, in, din, /*complete=*/true);
    return;
  }
  // The input's rows gathered again (not kept from forward), the output
  // gradient's gathered, the input gradient's partial sums reduce-scattered.
  SequenceScratch& s = *scratch_;
  gather_sequence(*tp_, *ctx.sequence_shard, in, s.gathered, s.staging);
  gather_sequence(*tp_, *ctx.sequence_shard, dout, s.dfull, s.staging);
  Tensor::ensure(s.partial, s.gathered.shape(), s.gathered.dtype(), s.gathered.device());
  run(s.dfull, s.gathered, s.partial, /*complete=*/false);
  scatter_sequence(*tp_, *ctx.sequence_shard, s.partial, din, s.staging);
}

const Tensor& TransformerBlock::run_forward(const Tensor& x, const Tensor& self_valid,
                                            const Tensor& memory, const Tensor& memory_valid,
                                            const StepContext& ctx) {
  const Tensor none;
  const bool recompute_core = ctx.training && ctx.recompute == Recompute::Selective;
  // Sublayers see whole sequences: their dropout is keyed without the shard.
  StepContext inner = ctx;
  inner.sequence_shard = nullptr;
  const Tensor* h = &self_res_.forward(
      x,
      [&](const Tensor& in, Tensor& out) {
        sublayer_forward(in, out, ctx,
                         [&](const Tensor& i, Tensor& o, bool partial) {
                           self_attn_.forward(i, none, self_valid, o, recompute_core, partial);
                         });
      },
      ctx);
  if (cross_attn_) {
    h = &cross_res_->forward(
        *h,
        [&](const Tensor& in, Tensor& out) {
          sublayer_forward(in, out, ctx,
                           [&](const Tensor& i, Tensor& o, bool partial) {
                             cross_attn_->forward(i, memory, memory_valid, o, recompute_core,
                                                  partial);
                           });
        },
        ctx);
  }
  return ffn_res_.forward(
      *h,
      [&](const Tensor& in, Tensor& out) {
        sublayer_forward(in, out, ctx,
                         [&](const Tensor& i, Tensor& o, bool partial) {
                           ffn_.forward(i, o, inner, partial);
                         });
      },
      ctx);
}

const Tensor& TransformerBlock::forward_cached(const Tensor& x, KVCache::Layer& layer,
                                               int64_t start, const Tensor& self_valid,
                                               const Tensor& memory_valid) {
  const StepContext inference;  // training = false: dropout off
  const Tensor* h = &self_res_.forward(
      x,
      [&](const Tensor& in, Tensor& out) {
        self_attn_.forward_cached(in, layer.k, layer.v, start, self_valid, out);
      },
      inference);
  if (cross_attn_) {
    h = &cross_res_->forward(
        *h,
        [&](const Tensor& in, Tensor& out) {
          cross_attn_->forward_memory(in, layer.cross_k, layer.cross_v, memory_valid, out);
        },
        inference);
  }
  return ffn_res_.forward(
      *h, [&](const Tensor& in, Tensor& out) { ffn_.forward(in, out, inference); }, inference);
}

void TransformerBlock::project_memory(const Tensor& memory, KVCache::Layer& layer) {
  if (cross_attn_) cross_attn_->project_memory(memory, layer.cross_k, layer.cross_v);
}

void TransformerBlock::backward(const Tensor& dy, const Tensor& x, const Tensor& memory,
                                Tensor& dx, Tensor& dmemory, const StepContext& ctx) {
  const bool full = ctx.training && ctx.recompute == Recompute::Full;
  if (full) {
    // The same inputs, masks and dropout keys: every activation as the first
    // forward had it, bit for bit (y is rewritten with what it held).
    WEFT_CHECK(self_valid_ != nullptr, name(), ": backward before forward");
    StepContext keep = ctx;
    keep.recompute = Recompute::None;
    run_forward(x, *self_valid_, memory, *memory_valid_, keep);
  }
  backward_sublayers(dy, x, memory, dx, dmemory, ctx);
  if (full) release_activations();
}

void TransformerBlock::backward_sublayers(const Tensor& dy, const Tensor& x, const Tensor& memory,
                                          Tensor& dx, Tensor& dmemory, const StepContext& ctx) {
  StepContext inner = ctx;
  inner.sequence_shard = nullptr;
  Tensor::ensure(dmid1_, x.shape(), x.dtype(), x.device());
  const Tensor& ffn_in = cross_attn_ ? cross_res_->output() : self_res_.output();
  ffn_res_.backward(
      dy, ffn_in,
      [&](const Tensor& dout, const Tensor& in, Tensor& din) {
        sublayer_backward(dout, in, din, ctx,
                          [&](const Tensor& d, const Tensor& i, Tensor& di, bool complete) {
                            ffn_.backward(d, i, di, inner, complete);
                          });
      },
      dmid1_, ctx);

  Tensor* d = &dmid1_;
  if (cross_attn_) {
    Tensor::ensure(dmid2_, x.shape(), x.dtype(), x.device());
    cross_res_->backward(
        dmid1_, self_res_.output(),
        [&](const Tensor& dout, const Tensor& in, Tensor& din) {
          sublayer_backward(dout, in, din, ctx,
                            [&](const Tensor& d, const Tensor& i, Tensor& di, bool complete) {
                              cross_attn_->backward(d, i, memory, di, dmemory, complete);
                            });
        },
        dmid2_, ctx);
    d = &dmid2_;
  }
  Tensor no_memory;
  self_res_.backward(
      *d, x,
      [&](const Tensor& dout, const Tensor& in, Tensor& din) {
        sublayer_backward(dout, in, din, ctx,
                          [&](const Tensor& d, const Tensor& i, Tensor& di, bool complete) {
                            self_attn_.backward(d, i, no_memory, di, no_memory, complete);
                          });
      },
      dx, ctx);
}

}  // namespace weft
