#pragma once
// What the tokenizer kinds share: the canonical-vocabulary hash, the common
// fields of tokenizer.json, and each kind's loader (dispatched by
// load_tokenizer, which then checks vocab_size and the hash it read).

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weft/data/tokenizer.h"
#include "weft/tensor/error.h"

namespace weft::data {

inline constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;
inline constexpr const char* kTokenizerFile = "tokenizer.json";

// FNV-1a over `bytes`, continuing from `hash`.
uint64_t fnv1a(std::string_view bytes, uint64_t hash = kFnvBasis);

// "'a'", "'\n'", or for other bytes the UTF-8 character they start, if any,
// and the byte in hex: "'é' (bytes 0xc3 0xa9)", "byte 0x80".
std::string describe_character(std::string_view text, size_t pos);

// Text of `ids` for a tokenizer whose ids below `first` are specials (not
// written) and whose id i >= first is the byte char_of(i - first). An id
// outside [0, vocab) throws weft::Error naming the `kind` of tokenizer.
template <typename CharOf>
std::string decode_bytes(const std::vector<int32_t>& ids, const char* kind, int64_t vocab,
                         int32_t first, CharOf char_of) {
  std::string text;
  text.reserve(ids.size());
  for (const int32_t id : ids) {
    WEFT_CHECK(id >= 0 && id < vocab, kind, " tokenizer: cannot decode id ", id,
               " (vocabulary size ", vocab, ")");
    if (id >= first) text.push_back(static_cast<char>(char_of(id - first)));
  }
  return text;
}

// {"format", "version", "kind", "vocab_size", "vocabulary_hash", "pad_id",
//  "bos_id", "eos_id"}; each kind adds its own fields.
nlohmann::json tokenizer_json_header(const Tokenizer& tokenizer);
void write_tokenizer_json(const std::string& dir, const nlohmann::json& json);

// `path` is tokenizer.json's, for messages; `dir` its directory.
std::unique_ptr<Tokenizer> load_char_tokenizer(const nlohmann::json& json, const std::string& path);
std::unique_ptr<Tokenizer> load_byte_tokenizer(const nlohmann::json& json, const std::string& path);
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const nlohmann::json& json,
                                                        const std::string& path,
                                                        const std::string& dir);

}  // namespace weft::data
