#include "weft/inference/masked_lm_score.h"

namespace weft {

MaskedLmScore score_masked_lm(EncoderOnly& model, BatchStream& stream, int64_t batches) {
  OutputHead& decoder = model.head().decoder();
  decoder.count_correct(true);
  MaskedLmScore score;
  for (int64_t i = 0; i < batches; ++i) {
    const LossSum part = model.forward(stream.next(), StepContext{});
    score.loss.sum += part.sum;
    score.loss.tokens += part.tokens;
    score.correct += decoder.correct();
  }
  decoder.count_correct(false);
  return score;
}

}  // namespace weft
