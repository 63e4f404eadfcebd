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

// A few samples or translations, during training.
void show_samples(Model& model, const DatasetInfo& data, const RunConfig& config,
                  Progress& progress);
// The end-of-run figures: exact match and BLEU on the held-out split for a
// translation model, recorded as of `step`; a longer sample for a language model.
void report_quality(Model& model, const DatasetInfo& data, const RunConfig& config,
                    Progress& progress, int64_t step);

}  // namespace weft::cli
