#include "weft/model/embedding.h"

#include "weft/backend/elementwise.h"
#include "weft/backend/embedding.h"
#include "weft/model/tensor_parallel.h"

namespace weft {

TokenEmbedding::TokenEmbedding(std::string name, int64_t vocab, const ModelConfig& c,
                               const LayerContext& ctx)
    : Module(std::move(name)), tp_(ctx.tp) {
  const int64_t padded = c.padded_vocab(vocab, ctx.tp->size());
  table_ = &add_parameter("weight", {padded, c.d_model}, ctx, Init::Normal, c.init_std, true, 0);
  table_->padded_rows = padded - vocab;
}

void TokenEmbedding::forward(const Tensor& ids, double scale, Tensor& out) {
  table_->value_needed();
  ops::embedding_forward(table_->value, ids, scale, table_->shard_offset, out);
  // Each rank filled only the ids of its rows, zeros elsewhere: the partial
  // embeddings leave the region through g.
  reduce_from_tensor_parallel_region_forward(*tp_, out);
}

void TokenEmbedding::forward_partial(const Tensor& ids, double scale, Tensor& out) {
  table_->value_needed();
  ops::embedding_forward(table_->value, ids, scale, table_->shard_offset, out);
}

void TokenEmbedding::backward(const Tensor& dout, const Tensor& ids, double scale) {
  const Tensor& dpartial = reduce_from_tensor_parallel_region_backward(*tp_, dout);
  ops::embedding_backward(dpartial, ids, scale, table_->shard_offset, table_->grad);
  table_->grad_written();
}

PositionTable::PositionTable(std::string name, const ModelConfig& c, const LayerContext& ctx)
    : Module(std::move(name)), d_model_(c.d_model) {
  if (c.positions == PositionEncoding::Rotary) {
    return;  // the attention heads rotate their queries and keys instead
  }
  if (c.positions == PositionEncoding::Learned) {
    learned_ =
        &add_parameter("weight", {c.max_seq_len, c.d_model}, ctx, Init::Normal, c.init_std, true);
  } else {
    fixed_ = Tensor::empty({c.max_seq_len, c.d_model}, ctx.dtype, ctx.device);
    ops::sinusoidal_positions(fixed_, c.sinusoid_layout);
  }
}

void PositionTable::forward(Tensor& x, int64_t start) {
  if (!learned_ && !fixed_.defined()) return;
  if (learned_) learned_->value_needed();
  ops::add_positions(table(), start, x);
}

void PositionTable::backward(const Tensor& dx, int64_t start) {
  if (!learned_) return;
  ops::add_positions_backward(dx, start, learned_->grad);
  learned_->grad_written();
}

SegmentEmbedding::SegmentEmbedding(std::string name, const ModelConfig& c, const LayerContext& ctx)
    : Module(std::move(name)) {
  table_ =
      &add_parameter("weight", {c.n_token_types, c.d_model}, ctx, Init::Normal, c.init_std, true);
}

void SegmentEmbedding::forward(const Tensor& types, Tensor& x) {
  table_->value_needed();
  Tensor::ensure(looked_up_, x.shape(), x.dtype(), x.device());
  ops::embedding_forward(table_->value, types, 1.0, 0, looked_up_);
  ops::add(x, looked_up_, x);
}

void SegmentEmbedding::backward(const Tensor& dx, const Tensor& types) {
  ops::embedding_backward(dx, types, 1.0, 0, table_->grad);
  table_->grad_written();
}

}  // namespace weft
