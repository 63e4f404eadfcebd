#pragma once
// BERT's masked-LM head: the last layer's states go through a dense
// transform, GELU and a layer norm, then the decoder projects them onto the
// vocabulary with the token embedding's table (tied) plus an output bias,
// and the loss is taken on the masked positions (the others' targets are
// ignored).
//
// Shards: the transform and its norm are replicated; every tensor-parallel
// rank runs them on all rows. The decoder is the vocabulary-parallel
// OutputHead. Under sequence parallelism the decoder leaves its input
// gradient a partial sum over the group; the head's backward is linear in
// it, so its own gradients are partial sums as well, summed over the group
// with the norms'. Caches the transform's pre-activation, activation and
// normed output.

#include "weft/model/linear.h"
#include "weft/model/norm.h"
#include "weft/model/output_head.h"

namespace weft {

class MaskedLMHead : public Module {
 public:
  MaskedLMHead(std::string name, const ModelConfig& c, TokenEmbedding& tokens,
               const LayerContext& ctx);

  // h (B,T,d), target (B,T) i32 (kIgnoreIndex where not masked). Returns the
  // loss summed over the counted targets; with dh, backward of
  // grad_scale · loss too (dh written).
  double forward(const Tensor& h, const Tensor& target, double label_smoothing, double grad_scale,
                 Tensor* dh);
  const Tensor& logits() const { return decoder_.logits(); }
  OutputHead& decoder() { return decoder_; }

 private:
  Linear transform_;
  Norm norm_;
  OutputHead decoder_;
  Tensor pre_, activated_, normed_;
  Tensor dnormed_, dactivated_;
};

}  // namespace weft
