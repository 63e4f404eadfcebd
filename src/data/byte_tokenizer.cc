// The byte tokenizer: id = byte value, shifted past the specials when asked
// for (the layout in tokenizer.h). Every text is representable, so encode
// never refuses.

#include "data/tokenizer_file.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  ByteTokenizer(bool with_specials, bool mlm_specials) : specials_(with_specials, mlm_specials) {}

  std::string kind() const override { return "byte"; }
  int64_t vocab_size() const override { return specials_.first + 256; }

  std::vector<int32_t> encode(std::string_view text) const override {
    return data::encode_with_mlm_specials(
        text, specials_.mlm, [&](std::string_view segment, size_t, std::vector<int32_t>& ids) {
          for (const char c : segment)
            ids.push_back(specials_.first + static_cast<unsigned char>(c));
        });
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    return data::decode_bytes(ids, "byte", vocab_size(), specials_.first, specials_.mlm,
                              [](int32_t byte) { return byte; });
  }

  int32_t pad_id() const override { return specials_.pad; }
  int32_t bos_id() const override { return specials_.bos; }
  int32_t eos_id() const override { return specials_.eos; }
  int32_t cls_id() const override { return specials_.mlm.cls; }
  int32_t sep_id() const override { return specials_.mlm.sep; }
  int32_t mask_id() const override { return specials_.mlm.mask; }

  uint64_t vocabulary_hash() const override { return data::fnv1a(specials_.hash_prefix("byte")); }

  void save(const std::string& dir) const override {
    nlohmann::json json = data::tokenizer_json_header(*this);
    json["specials"] = specials_.with_specials;
    data::write_tokenizer_json(dir, json);
  }

 private:
  data::LeadingSpecials specials_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(bool with_specials, bool mlm_specials) {
  return std::make_unique<ByteTokenizer>(with_specials, mlm_specials);
}

namespace data {

std::unique_ptr<Tokenizer> load_byte_tokenizer(const nlohmann::json& json, const std::string&) {
  return std::make_unique<ByteTokenizer>(json.at("specials").get<bool>(), mlm_specials_field(json));
}

}  // namespace data
}  // namespace weft
