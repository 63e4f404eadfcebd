#pragma once
// The second half of prepare_lm / prepare_translation, on texts already in
// memory: build the tokenizer(s), encode, then write the dataset directory.
// prepare_builtin feeds the texts it generates through the same path.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weft/data/dataset.h"
#include "weft/data/tokenizer.h"

namespace weft::data {

struct LmTexts {
  std::string train, val;
  nlohmann::json provenance;  // meta.json's "input" and "split" entries
};

struct ParallelTexts {
  std::vector<std::string> train_source, train_target, val_source, val_target;
  nlohmann::json provenance;
};

DatasetInfo write_lm_dataset(const LmTexts& texts, const TokenizerSpec& spec,
                             const std::string& out_dir);

DatasetInfo write_translation_dataset(const ParallelTexts& texts, TokenizerSpec spec,
                                      bool shared_vocabulary, const std::string& out_dir);

// Lines of `text`: a trailing newline ends the last line, "\r\n" counts as "\n".
std::vector<std::string> split_lines(const std::string& text);

// Removes a previous meta.json, so a directory rewritten in place reads as
// incomplete until the new one is written (last).
void begin_dataset_dir(const std::string& out_dir);
void write_meta(const std::string& out_dir, nlohmann::json meta);

// meta.json's entry for a tokenizer saved in <out_dir>/<sub> ("." for out_dir).
nlohmann::json tokenizer_entry(const Tokenizer& tokenizer, const std::string& sub);

}  // namespace weft::data
