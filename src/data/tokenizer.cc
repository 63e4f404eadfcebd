// load_tokenizer and what every kind shares.

#include <algorithm>
#include <cstdio>

#include "data/file_io.h"
#include "data/format_header.h"
#include "data/tokenizer_file.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft {

std::string hash_hex(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

namespace data {

uint64_t fnv1a(std::string_view bytes, uint64_t hash) {
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return hash;
}

std::string describe_character(std::string_view text, size_t pos) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", byte);
  if (byte == '\n') return "'\\n'";
  if (byte == '\t') return "'\\t'";
  if (byte == '\r') return "'\\r'";
  // Appended piece by piece: GCC 12 misreads "'" + std::string(...) (-Wrestrict).
  std::string quoted = "'";
  if (byte >= 0x20 && byte < 0x7f) return (quoted += static_cast<char>(byte)) += '\'';
  // A UTF-8 lead byte followed by its continuation bytes: name the character.
  const size_t length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 0;
  if (length > 0 && byte < 0xf8 && pos + length <= text.size()) {
    bool valid = true;
    std::string bytes = hex;
    for (size_t i = 1; i < length; ++i) {
      const auto next = static_cast<unsigned char>(text[pos + i]);
      valid = valid && (next & 0xc0) == 0x80;
      std::snprintf(hex, sizeof hex, " 0x%02x", next);
      bytes += hex;
    }
    if (valid) return ((quoted += text.substr(pos, length)) += "' (bytes ") += bytes + ")";
  }
  return std::string("byte ") + hex;
}

LeadingSpecials::LeadingSpecials(bool with_specials, bool mlm_specials)
    : with_specials(with_specials), mlm_specials(mlm_specials) {
  if (with_specials) pad = 0, bos = 1, eos = 2, first = 3;
  if (mlm_specials) {
    pad = 0;
    first = std::max(first, 1);
    mlm = {first, first + 1, first + 2, pad};
    first += 3;
  }
}

std::string LeadingSpecials::hash_prefix(const char* kind) const {
  std::string prefix = std::string("weft-") + kind;
  if (with_specials) prefix += "+specials";
  if (mlm_specials) prefix += "+mlm";
  return prefix;
}

const char* mlm_special_text(int32_t id, const MlmSpecialIds& mlm) {
  if (id < 0) return nullptr;
  if (id == mlm.cls) return kClsText;
  if (id == mlm.sep) return kSepText;
  if (id == mlm.mask) return kMaskText;
  return nullptr;
}

void add_vocabulary_fields(nlohmann::json& json, const Tokenizer& tokenizer) {
  json["kind"] = tokenizer.kind();
  json["vocab_size"] = tokenizer.vocab_size();
  json["vocabulary_hash"] = hash_hex(tokenizer.vocabulary_hash());
  json["pad_id"] = tokenizer.pad_id();
  json["bos_id"] = tokenizer.bos_id();
  json["eos_id"] = tokenizer.eos_id();
  // Only when present, so a tokenizer without them writes the file it always did.
  if (tokenizer.has_mlm_specials()) {
    json["cls_id"] = tokenizer.cls_id();
    json["sep_id"] = tokenizer.sep_id();
    json["mask_id"] = tokenizer.mask_id();
  }
}

nlohmann::json tokenizer_json_header(const Tokenizer& tokenizer) {
  nlohmann::json json = {{"format", "weft-tokenizer"}, {"version", 1}};
  add_vocabulary_fields(json, tokenizer);
  if (tokenizer.has_mlm_specials()) json["mlm_specials"] = true;
  return json;
}

bool mlm_specials_field(const nlohmann::json& json) {
  return json.contains("mlm_specials") && json.at("mlm_specials").get<bool>();
}

void write_tokenizer_json(const std::string& dir, const nlohmann::json& json) {
  make_directories(dir);
  write_file_atomically(join_path(dir, kTokenizerFile), json.dump(1) + "\n");
}

}  // namespace data

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  const std::string path = data::join_path(dir, data::kTokenizerFile);
  const std::string text = data::read_file(path, "tokenizer file");
  std::unique_ptr<Tokenizer> tokenizer;
  std::string stored_hash;
  int64_t stored_size = 0;
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    data::check_format_header(json, path, "weft-tokenizer", "tokenizer file", "tokenizer file");
    const std::string kind = json.at("kind").get<std::string>();
    if (kind == "char") {
      tokenizer = data::load_char_tokenizer(json, path);
    } else if (kind == "byte") {
      tokenizer = data::load_byte_tokenizer(json, path);
    } else if (kind == "sentencepiece") {
      tokenizer = data::load_sentencepiece_tokenizer(json, path, dir);
    } else {
      throw Error(path + ": unknown tokenizer kind '" + kind +
                  "' (expected char, byte or sentencepiece)");
    }
    stored_hash = json.at("vocabulary_hash").get<std::string>();
    stored_size = data::json_integer(json.at("vocab_size"), path + ": \"vocab_size\"", 0,
                                     INT64_MAX);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed tokenizer file: " + e.what());
  }
  // The stored hash doubles as a checksum of the vocabulary the file lists.
  WEFT_CHECK(stored_size == tokenizer->vocab_size(), path, ": says vocab_size ", stored_size,
             " but its vocabulary has ", tokenizer->vocab_size(), " entries");
  WEFT_CHECK(stored_hash == hash_hex(tokenizer->vocabulary_hash()), path, ": says vocabulary_hash ",
             stored_hash, " but its vocabulary hashes to ", hash_hex(tokenizer->vocabulary_hash()),
             "; the file was edited or is torn");
  return tokenizer;
}

}  // namespace weft

namespace weft {

void TokenizerSpec::validate() const {
  WEFT_CHECK(kind == "char" || kind == "byte" || kind == "sentencepiece", "tokenizer kind '", kind,
             "' is not one of char, byte, sentencepiece");
  if (kind == "sentencepiece") sentencepiece.validate();
}

std::unique_ptr<Tokenizer> build_tokenizer(const TokenizerSpec& spec, std::string_view corpus) {
  spec.validate();
  if (spec.kind == "char") {
    return make_char_tokenizer(corpus, spec.with_specials, spec.mlm_specials);
  }
  if (spec.kind == "byte") return make_byte_tokenizer(spec.with_specials, spec.mlm_specials);
  SentencePieceOptions options = spec.sentencepiece;
  options.mlm_specials = options.mlm_specials || spec.mlm_specials;
  return train_sentencepiece(corpus, options);
}

}  // namespace weft
