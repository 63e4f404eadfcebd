#pragma once
// A prepared dataset directory (written by prepare_lm, prepare_translation or
// prepare_builtin):
//   meta.json                  kind, tokenizer(s), counts, how val was split
//   tokenizer.json (+ .model)  the tokenizer; for a translation dataset with
//                              separate vocabularies, tokenizer_src/ and
//                              tokenizer_tgt/ instead
//   lm:           train.bin, val.bin                     token shards
//   translation:  {train,val}.{src,tgt}.bin              each sentence's tokens,
//                                                        then EOS
// meta.json is written last, so a directory without it is incomplete.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "weft/data/tokenizer.h"

namespace weft {

enum class DatasetKind { LanguageModel, Translation };

struct DatasetInfo {
  std::string dir;
  DatasetKind kind = DatasetKind::LanguageModel;
  // The language model's tokenizer, or the translation target's.
  std::shared_ptr<const Tokenizer> tokenizer;
  // Translation: the source's; the same object as `tokenizer` when shared.
  std::shared_ptr<const Tokenizer> source_tokenizer;
  bool shared_vocabulary = true;
  nlohmann::json meta;  // meta.json as read

  bool is_translation() const { return kind == DatasetKind::Translation; }
  // "train"|"val" -> <dir>/train.bin (lm) or <dir>/train.src.bin (side "src"|"tgt").
  // Throws weft::Error for an unknown split or side.
  std::string shard_path(const std::string& split, const std::string& side = "") const;
};

// Reads meta.json and the tokenizer(s); throws weft::Error naming the
// directory or file for a missing or malformed one.
DatasetInfo read_dataset(const std::string& dir);

const char* dataset_kind_name(DatasetKind kind);  // "lm" | "translation"

}  // namespace weft
