#pragma once
// A masked language model's held-out figures: the loss on the masked tokens
// and the share of them it predicts exactly (the largest logit is the
// original token's), over a stream's batches.

#include "weft/data/batch.h"
#include "weft/model/encoder_only.h"

namespace weft {

struct MaskedLmScore {
  LossSum loss;         // over the masked tokens
  int64_t correct = 0;  // masked tokens predicted exactly
  double accuracy() const {
    return loss.tokens > 0 ? static_cast<double>(correct) / static_cast<double>(loss.tokens) : 0.0;
  }
};

// Evaluates `batches` batches of `stream` (an MlmLoader's: corrupted inputs,
// the masked tokens' originals as targets) without dropout.
MaskedLmScore score_masked_lm(EncoderOnly& model, BatchStream& stream, int64_t batches);

}  // namespace weft
