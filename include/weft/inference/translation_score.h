#pragma once
// Translation quality on a prepared dataset's split: its sources decoded with
// beam search and scored against the references by exact match, corpus BLEU
// and chrF2 (both as sacreBLEU computes them).

#include <string>
#include <vector>

#include "weft/data/dataset.h"
#include "weft/inference/bleu.h"
#include "weft/inference/chrf.h"
#include "weft/model/encoder_decoder.h"

namespace weft {

struct TranslationScore {
  int64_t sentences = 0;
  double exact_match = 0.0;  // share of hypotheses equal to their reference
  BleuScore bleu;            // corpus BLEU-4 (.score 0..100), as sacreBLEU
  ChrfScore chrf;            // corpus chrF2 (.score 0..100), as sacreBLEU
};

// A split's sentences as text, in the split's order.
struct Translations {
  std::vector<std::string> sources, hypotheses, references;
};

// Decodes `max_sentences` of the split (0: all) with beam search (beam 1:
// greedy; outputs up to source length + max_extra tokens).
Translations translate_split(EncoderDecoder& model, const DatasetInfo& data,
                             const std::string& split, int64_t beam, double alpha,
                             int64_t max_extra, int64_t max_sentences);

// Exact match, corpus BLEU and chrF2 of the hypotheses against their references.
TranslationScore score_translations(const Translations& t);

// translate_split, then its score; `model` must be an EncoderDecoder.
TranslationScore score_translations(Model& model, const DatasetInfo& data, const std::string& split,
                                    int64_t beam, double alpha, int64_t max_extra,
                                    int64_t max_sentences);

}  // namespace weft
