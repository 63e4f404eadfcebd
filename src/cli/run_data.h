#pragma once
// The data a run trains on: the dataset directory (a built-in one is
// generated on first use), its tokenizer(s), and loaders for its splits.

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/run_config.h"
#include "weft/data/dataset.h"
#include "weft/train/trainer.h"

namespace weft::cli {

// A loader whose position can be saved and restored (LmLoader, TranslationLoader).
class DataStream : public BatchSource {
 public:
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& state) = 0;
};

// builtin:NAME -> data/builtin-NAME (prepared when absent); else the
// directory as given. Throws weft::Error naming the dataset when unusable.
DatasetInfo open_dataset(const std::string& dataset);

// Sets the vocabulary sizes and pad id of `model` from the data, and checks
// the family fits the data (a translation corpus needs an encoder-decoder).
void fit_model_to_data(ModelConfig& model, const DatasetInfo& data);

// Training (shuffled, seeded) or evaluation (fixed) batches of `split`;
// data-parallel rank dp_rank of dp_size gets its rows of every batch.
std::unique_ptr<DataStream> make_stream(const DatasetInfo& data, const RunConfig& config,
                                        const std::string& split, bool training,
                                        int64_t dp_rank = 0, int64_t dp_size = 1);

}  // namespace weft::cli
