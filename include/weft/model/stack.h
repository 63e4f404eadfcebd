#pragma once
// A stack of transformer layers with its embedding front: tokens (scaled by
// sqrt(d_model) when configured), positions, for BERT segments and a norm of
// their sum, dropout, N blocks and, for pre-norm models, a final norm. GPT is one decoder stack; the 2017
// Transformer is an encoder stack and a decoder stack with cross-attention.

#include <memory>
#include <vector>

#include "weft/model/block.h"
#include "weft/model/embedding.h"
#include "weft/model/sequence_parallel.h"

namespace weft {

class TransformerStack : public Module {
 public:
  // `tokens` is owned by the model (it may be shared with the other stack
  // and with the output projection).
  TransformerStack(std::string name, const ModelConfig& config, TokenEmbedding& tokens,
                   int64_t n_layers, bool causal, bool cross, const LayerContext& ctx);

  // ids (B,T) i32; valid (B,T) i32 key mask or undefined; memory (B,S,d) and
  // memory_valid for cross-attention. Returns the hidden states (B,T,d),
  // owned by the stack until its next forward. Built for sequence
  // parallelism and training: this rank's rows of them, (shard().local_rows,
  // d), and backward takes the gradient of those rows (split_rows()).
  const Tensor& forward(const Tensor& ids, const Tensor& valid, const Tensor& memory,
                        const Tensor& memory_valid, const StepContext& ctx);
  // Backward from dhidden down to the embeddings' parameters; dmemory +=
  // the cross-attention gradients.
  void backward(const Tensor& dhidden, const Tensor& ids, const Tensor& memory, Tensor& dmemory,
                const StepContext& ctx);

  // Encoder-only (BERT): the segment of every position of the next forward's
  // ids, (B,T) i32, kept by the caller until backward.
  void use_segments(const Tensor& types) { types_ = &types; }

  // Inference: ids (B,T) i32 are positions [cache.length(), +T) of the
  // cache's sequences (positions continue there); the blocks extend the
  // cache's keys and values, whose key mask the caller has marked. Does not
  // advance the cache. Returns the hidden states (B,T,d), as forward().
  const Tensor& forward_cached(const Tensor& ids, KVCache& cache);
  // Every block's cross-attention keys and values of memory (B,S,d) into
  // the cache (sized by the caller).
  void project_memory(const Tensor& memory, KVCache& cache);
  int64_t layers() const { return static_cast<int64_t>(blocks_.size()); }
  // Whether the last forward returned this rank's rows (sequence parallel
  // and training), and which.
  bool split_rows() const { return split_rows_; }
  const SequenceShard& shard() const { return shard_; }
  // What the last forward returned, with every sequence's rows, as the
  // output head and cross-attention read it: `output` itself, or under
  // split_rows() all ranks' rows gathered into a buffer of the stack's.
  const Tensor& whole_sequences(const Tensor& output);
  // A gradient of whole sequences, as backward() takes it: `dwhole` itself,
  // or under split_rows() this rank's rows of its sum over the group.
  const Tensor& own_rows(const Tensor& dwhole);

 private:
  const Tensor& block_input(size_t i) const;
  const Tensor& embed(const Tensor& ids, int64_t start, const StepContext& ctx);
  // Sequence parallelism: the embedding's rows of this rank, positions added
  // once (by tp rank 0's partial sum), dropout keyed by the shard's rows.
  const Tensor& embed_rows(const Tensor& ids, const StepContext& ctx);
  StepContext with_shard(const StepContext& ctx) const;
  const Tensor& finish(const Tensor& h);
  // The embeddings' sum (tokens, positions, segments): embedded_ itself, or
  // its norm's input when the stack norms it.
  Tensor& embedding_sum() { return embed_norm_ ? embed_sum_ : embedded_; }
  void add_segments(Tensor& x);
  // Backward through the embeddings' norm (if any) and dropout: the
  // gradient of their sum.
  const Tensor& embedding_sum_grad(Tensor& dembedded, const StepContext& ctx, int64_t T);

  TokenEmbedding& tokens_;
  double embed_scale_;
  PositionTable positions_;
  std::unique_ptr<SegmentEmbedding> segments_;
  std::unique_ptr<Norm> embed_norm_;
  const Tensor* types_ = nullptr;
  Tensor embed_sum_, dembed_sum_;
  Dropout embed_dropout_;
  std::vector<std::unique_ptr<TransformerBlock>> blocks_;
  std::unique_ptr<Norm> final_norm_;
  Tensor embedded_, normed_;
  Tensor dfinal_, dbuf_[2];
  std::shared_ptr<Communicator> tp_;
  bool sequence_parallel_ = false;
  bool split_rows_ = false;  // the last forward's
  SequenceShard shard_;
  SequenceScratch scratch_;  // the blocks' and the embedding's
  Tensor embedded_full_;  // sequence parallel: the partial embedding, then its gradient
  Tensor output_whole_, doutput_rows_;  // whole_sequences(), own_rows()
};

}  // namespace weft
