#pragma once
// What the tokenizer kinds share: the canonical-vocabulary hash, the common
// fields of tokenizer.json, and each kind's loader (dispatched by
// load_tokenizer, which then checks vocab_size and the hash it read).

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
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

// The masked-LM specials' ids (-1: absent) and the literal text that stands
// for each in encode() and decode().
struct MlmSpecialIds {
  int32_t cls = -1, sep = -1, mask = -1, pad = -1;
  bool present() const { return cls >= 0; }
};
inline constexpr const char* kClsText = "[CLS]";
inline constexpr const char* kSepText = "[SEP]";
inline constexpr const char* kMaskText = "[MASK]";
inline constexpr const char* kPadText = "[PAD]";

// The specials that come before the ordinary ids of the char and byte kinds
// (the layout tokenizer.h documents), from the two switches of tokenizer.json.
struct LeadingSpecials {
  LeadingSpecials(bool with_specials, bool mlm_specials);
  bool with_specials, mlm_specials;
  int32_t pad = -1, bos = -1, eos = -1;
  MlmSpecialIds mlm;
  int32_t first = 0;  // the first ordinary id
  // What the vocabulary hash starts from: "weft-<kind>", then "+specials"
  // and "+mlm" when on, so a vocabulary without MLM specials keeps its hash.
  std::string hash_prefix(const char* kind) const;
};

// "[CLS]", "[SEP]" or "[MASK]" for those ids, nullptr for any other (pad
// writes nothing, as bos and eos).
const char* mlm_special_text(int32_t id, const MlmSpecialIds& mlm);

// encode() for a tokenizer with MLM specials: the literal "[CLS]", "[SEP]",
// "[MASK]" and "[PAD]" become their ids and the text between them goes to
// encode_plain(segment, offset of the segment in `text`, ids). Without them,
// the whole text goes to encode_plain, exactly as before MLM specials existed.
template <typename EncodePlain>
std::vector<int32_t> encode_with_mlm_specials(std::string_view text, const MlmSpecialIds& mlm,
                                              EncodePlain encode_plain) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  if (!mlm.present()) {
    encode_plain(text, size_t{0}, ids);
    return ids;
  }
  const std::pair<std::string_view, int32_t> literals[] = {
      {kClsText, mlm.cls}, {kSepText, mlm.sep}, {kMaskText, mlm.mask}, {kPadText, mlm.pad}};
  size_t segment = 0;
  for (size_t at = text.find('['); at != std::string_view::npos; at = text.find('[', at)) {
    bool matched = false;
    for (const auto& [literal, id] : literals) {
      if (text.substr(at, literal.size()) != literal) continue;
      encode_plain(text.substr(segment, at - segment), segment, ids);
      ids.push_back(id);
      at += literal.size();
      segment = at;
      matched = true;
      break;
    }
    if (!matched) ++at;
  }
  encode_plain(text.substr(segment), segment, ids);
  return ids;
}

// Text of `ids` for a tokenizer whose ids below `first` are specials (only
// the MLM ones write text) and whose id i >= first is the byte
// char_of(i - first). An id outside [0, vocab) throws weft::Error naming the
// `kind` of tokenizer.
template <typename CharOf>
std::string decode_bytes(const std::vector<int32_t>& ids, const char* kind, int64_t vocab,
                         int32_t first, const MlmSpecialIds& mlm, CharOf char_of) {
  std::string text;
  text.reserve(ids.size());
  for (const int32_t id : ids) {
    WEFT_CHECK(id >= 0 && id < vocab, kind, " tokenizer: cannot decode id ", id,
               " (vocabulary size ", vocab, ")");
    if (id >= first) {
      text.push_back(static_cast<char>(char_of(id - first)));
    } else if (const char* special = mlm_special_text(id, mlm)) {
      text += special;
    }
  }
  return text;
}

// The fields that say which vocabulary a file was written with: "kind",
// "vocab_size", "vocabulary_hash", "pad_id", "bos_id", "eos_id", and "cls_id",
// "sep_id", "mask_id" when the tokenizer has MLM specials (tokenizer.json and
// a dataset's meta.json both carry them).
void add_vocabulary_fields(nlohmann::json& json, const Tokenizer& tokenizer);
// {"format", "version"}, the vocabulary fields, and "mlm_specials" when the
// tokenizer has them; each kind adds its own fields.
nlohmann::json tokenizer_json_header(const Tokenizer& tokenizer);
// tokenizer.json's "mlm_specials": false when absent (files written before it).
bool mlm_specials_field(const nlohmann::json& json);
void write_tokenizer_json(const std::string& dir, const nlohmann::json& json);

// `path` is tokenizer.json's, for messages; `dir` its directory.
std::unique_ptr<Tokenizer> load_char_tokenizer(const nlohmann::json& json, const std::string& path);
std::unique_ptr<Tokenizer> load_byte_tokenizer(const nlohmann::json& json, const std::string& path);
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const nlohmann::json& json,
                                                        const std::string& path,
                                                        const std::string& dir);

}  // namespace weft::data
