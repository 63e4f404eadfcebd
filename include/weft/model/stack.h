#pragma once
// A stack of transformer layers with its embedding front: tokens (scaled by
// sqrt(d_model) when configured), positions, dropout, N blocks and, for
// pre-norm models, a final layer norm. GPT is one decoder stack; the 2017
// Transformer is an encoder stack and a decoder stack with cross-attention.

#include <memory>
#include <vector>

#include "weft/model/block.h"
#include "weft/model/embedding.h"

namespace weft {

class TransformerStack : public Module {
 public:
  // `tokens` is owned by the model (it may be shared with the other stack
  // and with the output projection).
  TransformerStack(std::string name, const ModelConfig& config, TokenEmbedding& tokens,
                   int64_t n_layers, bool causal, bool cross, const LayerContext& ctx);

  // ids (B,T) i32; valid (B,T) i32 key mask or undefined; memory (B,S,d) and
  // memory_valid for cross-attention. Returns the hidden states (B,T,d),
  // owned by the stack until its next forward.
  const Tensor& forward(const Tensor& ids, const Tensor& valid, const Tensor& memory,
                        const Tensor& memory_valid, const StepContext& ctx);
  // Backward from dhidden down to the embeddings' parameters; dmemory +=
  // the cross-attention gradients.
  void backward(const Tensor& dhidden, const Tensor& ids, const Tensor& memory, Tensor& dmemory,
                const StepContext& ctx);

 private:
  const Tensor& block_input(size_t i) const;

  TokenEmbedding& tokens_;
  double embed_scale_;
  PositionTable positions_;
  Dropout embed_dropout_;
  std::vector<std::unique_ptr<TransformerBlock>> blocks_;
  std::unique_ptr<LayerNorm> final_norm_;
  Tensor embedded_, normed_;
  Tensor dfinal_, dbuf_[2];
};

}  // namespace weft
