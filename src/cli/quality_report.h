#pragma once
// What a run shows of its model besides losses: text continuations for a
// language model, translations for a translation model, and the quality
// figures (exact match, BLEU) measured on the held-out split.

#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "cli/run_config.h"
#include "weft/data/dataset.h"
#include "weft/model/model.h"

namespace weft::cli {

struct TranslationScore {
  int64_t sentences = 0;
  double exact_match = 0.0;  // share of hypotheses equal to their reference
  double bleu = 0.0;         // corpus BLEU-4, 0..100, as sacreBLEU
};

// Decodes `max_sentences` of the split (0: all) with beam search (beam 1:
// greedy; outputs up to source length + max_extra tokens) and scores them
// against the references.
TranslationScore score_translations(Model& model, const DatasetInfo& data,
                                    const std::string& split, int64_t beam, double alpha,
                                    int64_t max_extra, int64_t max_sentences);

// A few samples or translations, during training.
void show_samples(Model& model, const DatasetInfo& data, const RunConfig& config,
                  Progress& progress);
// The end-of-run figures: exact match and BLEU on the held-out split for a
// translation model; a longer sample for a language model.
void report_quality(Model& model, const DatasetInfo& data, const RunConfig& config,
                    Progress& progress);

}  // namespace weft::cli
