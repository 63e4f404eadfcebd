// What both kinds of prepared dataset share: lines, meta.json, tokenizer entries.

#include <filesystem>

#include "data/file_io.h"
#include "data/prepare_internal.h"
#include "data/tokenizer_file.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft::data {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    if (stop > begin && text[stop - 1] == '\r') --stop;
    lines.emplace_back(text, begin, stop - begin);
    begin = end + 1;
  }
  return lines;
}

void begin_dataset_dir(const std::string& out_dir) {
  WEFT_CHECK(!out_dir.empty(), "prepare: no output directory given");
  make_directories(out_dir);
  std::error_code ec;
  std::filesystem::remove(join_path(out_dir, "meta.json"), ec);
  WEFT_CHECK(!ec, join_path(out_dir, "meta.json"),
             ": cannot remove the previous dataset's: ", ec.message());
}

void write_meta(const std::string& out_dir, nlohmann::json meta) {
  meta["format"] = "weft-dataset";
  meta["version"] = 1;
  write_file_atomically(join_path(out_dir, "meta.json"), meta.dump(2) + "\n");
}

nlohmann::json tokenizer_entry(const Tokenizer& tokenizer, const std::string& sub) {
  nlohmann::json entry = {{"dir", sub}};
  add_vocabulary_fields(entry, tokenizer);
  return entry;
}

}  // namespace weft::data
