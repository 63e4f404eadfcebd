// The byte tokenizer: id = byte value, shifted past the three specials when
// asked for. Every text is representable, so encode never refuses.

#include "data/tokenizer_file.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  explicit ByteTokenizer(bool with_specials) : first_(with_specials ? 3 : 0) {}

  std::string kind() const override { return "byte"; }
  int64_t vocab_size() const override { return first_ + 256; }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      ids[i] = first_ + static_cast<unsigned char>(text[i]);
    }
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    return data::decode_bytes(ids, "byte", vocab_size(), first_, [](int32_t byte) { return byte; });
  }

  int32_t pad_id() const override { return first_ > 0 ? 0 : -1; }
  int32_t bos_id() const override { return first_ > 0 ? 1 : -1; }
  int32_t eos_id() const override { return first_ > 0 ? 2 : -1; }

  uint64_t vocabulary_hash() const override {
    return data::fnv1a(first_ > 0 ? "weft-byte+specials" : "weft-byte");
  }

  void save(const std::string& dir) const override {
    nlohmann::json json = data::tokenizer_json_header(*this);
    json["specials"] = first_ > 0;
    data::write_tokenizer_json(dir, json);
  }

 private:
  int32_t first_;  // id of byte 0
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(bool with_specials) {
  return std::make_unique<ByteTokenizer>(with_specials);
}

namespace data {

std::unique_ptr<Tokenizer> load_byte_tokenizer(const nlohmann::json& json, const std::string&) {
  return std::make_unique<ByteTokenizer>(json.at("specials").get<bool>());
}

}  // namespace data
}  // namespace weft
