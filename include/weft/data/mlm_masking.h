#pragma once
// BERT's masked-LM corruption of a batch of token ids, drawn so that every
// parallel layout corrupts the same positions. MlmLoader (mlm_loader.h)
// applies it to each global micro-batch, `step` being the micro-batch's index.

#include <cstdint>
#include <vector>

#include "weft/data/tokenizer.h"
#include "weft/tensor/tensor.h"

namespace weft {

// BERT's masked-LM corruption (Devlin et al. 2019): each position whose token is not special is
// selected with probability `select`; a selected token becomes [MASK] with probability `mask`,
// a uniformly random ordinary token with probability `random`, else stays. Every draw comes from
// the counter-based generator keyed by (seed, step, global sequence, position), so every
// data-parallel or tensor-parallel layout masks the same tokens.
struct MlmMasking {
  double select = 0.15, mask = 0.8, random = 0.1;
  int32_t mask_id = -1;
  int64_t vocab_size = 0;  // random replacements are drawn from [0, vocab_size) minus `special`
  // Never selected, never drawn: [CLS] [SEP] [PAD] [MASK] (and bos/eos if any).
  std::vector<int32_t> special;
  // Throws weft::Error naming the bad field: probabilities outside [0, 1],
  // mask + random > 1, mask_id or a special outside [0, vocab_size), or
  // random > 0 with no ordinary token to draw. mask_id is special whether
  // listed or not.
  void validate() const;
};

// The masking of a tokenizer with MLM specials, BERT's probabilities: its
// vocabulary, its [MASK], and every special it has (cls, sep, mask, pad, bos,
// eos) in `special`. Refuses a tokenizer without MLM specials.
MlmMasking mlm_masking_for(const Tokenizer& tokenizer);

// ids (B,T) i32 host: original tokens; row b is global sequence first_row + b.
// input (B,T) i32 written: the corrupted ids; target (B,T) i32 written: the original id at selected
// positions, kIgnoreIndex elsewhere. Returns the number of selected positions.
int64_t mlm_mask(const Tensor& ids, const MlmMasking& m, uint64_t seed, uint64_t step,
                 int64_t first_row, Tensor& input, Tensor& target);

}  // namespace weft
