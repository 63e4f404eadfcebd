// The character-level tokenizer: one id per distinct byte of the corpus it
// was built on, in byte order (nanoGPT's shakespeare_char), after the
// specials when asked for (the layout in tokenizer.h).

#include <algorithm>
#include <array>

#include "data/format_header.h"
#include "data/tokenizer_file.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

class CharTokenizer final : public Tokenizer {
 public:
  CharTokenizer(std::vector<uint8_t> chars, bool with_specials, bool mlm_specials)
      : chars_(std::move(chars)), specials_(with_specials, mlm_specials) {
    id_of_.fill(-1);
    for (size_t i = 0; i < chars_.size(); ++i) {
      id_of_[chars_[i]] = specials_.first + static_cast<int32_t>(i);
    }
  }

  std::string kind() const override { return "char"; }
  int64_t vocab_size() const override {
    return specials_.first + static_cast<int64_t>(chars_.size());
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    return data::encode_with_mlm_specials(
        text, specials_.mlm,
        [&](std::string_view segment, size_t offset, std::vector<int32_t>& ids) {
          for (size_t i = 0; i < segment.size(); ++i) {
            const int32_t id = id_of_[static_cast<unsigned char>(segment[i])];
            if (id < 0) refuse(text, offset + i);
            ids.push_back(id);
          }
        });
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    return data::decode_bytes(ids, "char", vocab_size(), specials_.first, specials_.mlm,
                              [this](int32_t i) { return chars_[i]; });
  }

  int32_t pad_id() const override { return specials_.pad; }
  int32_t bos_id() const override { return specials_.bos; }
  int32_t eos_id() const override { return specials_.eos; }
  int32_t cls_id() const override { return specials_.mlm.cls; }
  int32_t sep_id() const override { return specials_.mlm.sep; }
  int32_t mask_id() const override { return specials_.mlm.mask; }

  uint64_t vocabulary_hash() const override {
    const uint64_t hash = data::fnv1a(specials_.hash_prefix("char") + ":");
    return data::fnv1a(
        std::string_view(reinterpret_cast<const char*>(chars_.data()), chars_.size()), hash);
  }

  void save(const std::string& dir) const override {
    nlohmann::json json = data::tokenizer_json_header(*this);
    json["specials"] = specials_.with_specials;
    // Byte values, not a string: a corpus's bytes need not be valid UTF-8.
    json["characters"] = chars_;
    data::write_tokenizer_json(dir, json);
  }

 private:
  [[noreturn]] void refuse(std::string_view text, size_t i) const {
    throw Error("char tokenizer: character " + data::describe_character(text, i) + " at byte " +
                std::to_string(i) + " of the text is not in its vocabulary (" +
                std::to_string(chars_.size()) +
                " characters of the corpus it was built from); rebuild the tokenizer "
                "from a corpus that contains it, or use the byte tokenizer");
  }

  std::vector<uint8_t> chars_;  // sorted, distinct
  data::LeadingSpecials specials_;
  std::array<int32_t, 256> id_of_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_char_tokenizer(std::string_view corpus, bool with_specials,
                                               bool mlm_specials) {
  std::array<bool, 256> seen{};
  for (const char c : corpus) seen[static_cast<unsigned char>(c)] = true;
  std::vector<uint8_t> chars;
  for (int b = 0; b < 256; ++b) {
    if (seen[b]) chars.push_back(static_cast<uint8_t>(b));
  }
  WEFT_CHECK(!chars.empty(), "char tokenizer: the corpus is empty, so there is no vocabulary");
  return std::make_unique<CharTokenizer>(std::move(chars), with_specials, mlm_specials);
}

namespace data {

std::unique_ptr<Tokenizer> load_char_tokenizer(const nlohmann::json& json,
                                               const std::string& path) {
  const nlohmann::json& listed = json.at("characters");
  WEFT_CHECK(listed.is_array() && !listed.empty(), path,
             ": the char tokenizer lists no characters");
  std::vector<int64_t> chars;
  for (const nlohmann::json& c : listed) {
    chars.push_back(json_integer(c, path + ": an entry of \"characters\"", 0, 255));
  }
  for (size_t i = 0; i < chars.size(); ++i) {
    WEFT_CHECK(chars[i] >= 0 && chars[i] < 256 && (i == 0 || chars[i] > chars[i - 1]), path,
               ": \"characters\" must be distinct byte values in increasing order; entry ", i,
               " is ", chars[i]);
  }
  return std::make_unique<CharTokenizer>(std::vector<uint8_t>(chars.begin(), chars.end()),
                                         json.at("specials").get<bool>(), mlm_specials_field(json));
}

}  // namespace data
}  // namespace weft
