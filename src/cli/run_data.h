#pragma once
// The data a run trains on: the dataset directory (a built-in one is
// generated on first use), its tokenizer(s), and loaders for its splits.

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/run_config.h"
#include "weft/data/dataset.h"
#include "weft/data/batch.h"

namespace weft::cli {

// builtin:NAME -> data/builtin-NAME (prepared when absent); else the
// directory as given. Throws weft::Error naming the dataset when unusable.
DatasetInfo open_dataset(const std::string& dataset);

// Sets the vocabulary sizes and pad id of `model` from the data, and checks
// the family fits the data (a translation corpus needs an encoder-decoder, an
// encoder-only model a tokenizer with MLM specials).
void fit_model_to_data(ModelConfig& model, const DatasetInfo& data);

// Training (shuffled, seeded) or evaluation (fixed) batches of `split`;
// data-parallel rank dp_rank of dp_size gets its rows of every batch. An
// encoder-only model gets MlmLoader's [CLS] window [SEP] rows, unmasked.
std::unique_ptr<BatchStream> make_stream(const DatasetInfo& data, const RunConfig& config,
                                        const std::string& split, bool training,
                                        int64_t dp_rank = 0, int64_t dp_size = 1);

}  // namespace weft::cli
