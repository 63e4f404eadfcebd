#include "weft/data/dataset.h"

#include "data/format_header.h"
#include "data/file_io.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// Loads the tokenizer a meta.json entry names and checks it is the one the
// shards were written with.
std::shared_ptr<const Tokenizer> load_entry(const std::string& dir, const nlohmann::json& entry,
                                            const std::string& meta_path) {
  const std::string sub = entry.at("dir").get<std::string>();
  std::shared_ptr<const Tokenizer> tokenizer =
      load_tokenizer(sub == "." ? dir : data::join_inside(dir, sub, meta_path + ": dir"));
  const std::string hash = entry.at("vocabulary_hash").get<std::string>();
  WEFT_CHECK(hash == hash_hex(tokenizer->vocabulary_hash()), meta_path, ": names vocabulary ", hash,
             " but the tokenizer in '", sub, "' has vocabulary ",
             hash_hex(tokenizer->vocabulary_hash()), "; prepare the dataset again");
  return tokenizer;
}

}  // namespace

const char* dataset_kind_name(DatasetKind kind) {
  return kind == DatasetKind::Translation ? "translation" : "lm";
}

std::string DatasetInfo::shard_path(const std::string& split, const std::string& side) const {
  WEFT_CHECK(split == "train" || split == "val", "dataset ", dir, ": unknown split '", split,
             "' (expected train or val)");
  if (!is_translation()) {
    WEFT_CHECK(side.empty(), "dataset ", dir, ": a language-model dataset has no side '", side,
               "'");
    return data::join_path(dir, split + ".bin");
  }
  WEFT_CHECK(side == "src" || side == "tgt", "dataset ", dir, ": unknown side '", side,
             "' (expected src or tgt)");
  return data::join_path(dir, split + "." + side + ".bin");
}

DatasetInfo read_dataset(const std::string& dir) {
  const std::string path = data::join_path(dir, "meta.json");
  const std::string text = data::read_file(
      path, "dataset description (is '" + dir + "' a directory written by weft prepare?)");
  DatasetInfo info;
  info.dir = dir;
  try {
    info.meta = nlohmann::json::parse(text);
    const nlohmann::json& meta = info.meta;
    data::check_format_header(meta, path, "weft-dataset", "dataset description", "dataset");
    const std::string kind = meta.at("kind").get<std::string>();
    if (kind == "lm") {
      info.kind = DatasetKind::LanguageModel;
      info.tokenizer = load_entry(dir, meta.at("tokenizer"), path);
      info.source_tokenizer = nullptr;
    } else if (kind == "translation") {
      info.kind = DatasetKind::Translation;
      info.shared_vocabulary = meta.at("shared_vocabulary").get<bool>();
      info.tokenizer = load_entry(dir, meta.at("target_tokenizer"), path);
      info.source_tokenizer = info.shared_vocabulary
                                  ? info.tokenizer
                                  : load_entry(dir, meta.at("source_tokenizer"), path);
    } else {
      throw Error(path + ": unknown dataset kind '" + kind + "' (expected lm or translation)");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed dataset description: " + e.what());
  }
  return info;
}

}  // namespace weft
