#pragma once
// Token embeddings and position encodings.
//
// Shards: the token table is vocabulary-parallel: this rank holds rows
// [r·Vp/tp, (r+1)·Vp/tp) of the padded vocabulary Vp (ModelConfig::
// vocab_multiple), looks up only ids in its range, and the partial
// embeddings leave the region through "g" (weft/model/tensor_parallel.h),
// summed across the group; backward scatters the replicated gradient into
// this rank's rows. Position tables are replicated. Neither caches anything.

#include "weft/model/config.h"
#include "weft/model/parameter.h"

namespace weft {

class TokenEmbedding : public Module {
 public:
  // A table of `vocab` real rows, padded as `c.vocab_multiple` says, of
  // width c.d_model.
  TokenEmbedding(std::string name, int64_t vocab, const ModelConfig& c, const LayerContext& ctx);

  // ids (B,T) i32 -> out (B,T,d) = scale · table[ids]
  void forward(const Tensor& ids, double scale, Tensor& out);
  // Without leaving the region: this rank's rows only, zeros elsewhere, for
  // a sequence-parallel caller to reduce-scatter. Backward is the same.
  void forward_partial(const Tensor& ids, double scale, Tensor& out);
  // table.grad[ids] += scale · dout
  void backward(const Tensor& dout, const Tensor& ids, double scale);

  Parameter& table() { return *table_; }
  int64_t vocab() const { return table_->real_rows(); }  // without the padding

 private:
  std::shared_ptr<Communicator> tp_;
  Parameter* table_;
};

// Learned (a trained table) or sinusoidal (a fixed table in c.sinusoid_layout,
// no parameter), of c.max_seq_len rows of width c.d_model. Rotary positions
// have no table: forward and backward do nothing.
class PositionTable : public Module {
 public:
  PositionTable(std::string name, const ModelConfig& c, const LayerContext& ctx);

  // x (B,T,d) += table[start .. start+T)
  void forward(Tensor& x, int64_t start);
  void backward(const Tensor& dx, int64_t start);
  int64_t dim() const { return d_model_; }

 private:
  const Tensor& table() const { return learned_ ? learned_->value : fixed_; }
  int64_t d_model_;
  Parameter* learned_ = nullptr;
  Tensor fixed_;
};

// BERT's segment (token-type) embeddings: a replicated table of
// c.n_token_types rows of width c.d_model. Caches nothing but its scratch.
class SegmentEmbedding : public Module {
 public:
  SegmentEmbedding(std::string name, const ModelConfig& c, const LayerContext& ctx);

  // x (B,T,d) += table[types], types (B,T) i32.
  void forward(const Tensor& types, Tensor& x);
  // table.grad[types] += dx
  void backward(const Tensor& dx, const Tensor& types);

 private:
  Parameter* table_;
  Tensor looked_up_;
};

}  // namespace weft
