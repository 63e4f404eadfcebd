// MLM specials ([CLS] [SEP] [MASK] and a pad) in the char, byte and
// SentencePiece tokenizers: id layout, the literal strings in encode and
// decode, tokenizer.json, and hashes that stay put for tokenizers without them.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/error_testing.h"
#include "support/temp_dir.h"
#include "weft/data/tokenizer.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;
using testing::TempDir;

uint64_t fnv1a(const std::string& bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return hash;
}

struct Layout {
  bool with_specials;
  int32_t pad, bos, eos, cls, sep, mask, first;
};

TEST(MlmSpecials, CharAndByteIdLayouts) {
  for (const Layout& l :
       {Layout{false, 0, -1, -1, 1, 2, 3, 4}, Layout{true, 0, 1, 2, 3, 4, 5, 6}}) {
    const auto chars = make_char_tokenizer("ab", l.with_specials, /*mlm_specials=*/true);
    const auto bytes = make_byte_tokenizer(l.with_specials, /*mlm_specials=*/true);
    for (const Tokenizer* tok : {chars.get(), bytes.get()}) {
      SCOPED_TRACE(tok->kind() + (l.with_specials ? " with specials" : ""));
      EXPECT_EQ(tok->pad_id(), l.pad);
      EXPECT_EQ(tok->bos_id(), l.bos);
      EXPECT_EQ(tok->eos_id(), l.eos);
      EXPECT_EQ(tok->cls_id(), l.cls);
      EXPECT_EQ(tok->sep_id(), l.sep);
      EXPECT_EQ(tok->mask_id(), l.mask);
      EXPECT_TRUE(tok->has_mlm_specials());
      EXPECT_EQ(tok->has_specials(), l.with_specials);
    }
    EXPECT_EQ(chars->vocab_size(), l.first + 2);
    EXPECT_EQ(chars->encode("ba"), (std::vector<int32_t>{l.first + 1, l.first}));
    EXPECT_EQ(bytes->vocab_size(), l.first + 256);
    EXPECT_EQ(bytes->encode("a"), (std::vector<int32_t>{l.first + 'a'}));
  }
  for (const bool with_specials : {false, true}) {
    for (const auto& tok :
         {make_char_tokenizer("ab", with_specials), make_byte_tokenizer(with_specials)}) {
      EXPECT_EQ(tok->cls_id(), -1);
      EXPECT_EQ(tok->sep_id(), -1);
      EXPECT_EQ(tok->mask_id(), -1);
      EXPECT_FALSE(tok->has_mlm_specials());
    }
  }
}

TEST(MlmSpecials, LiteralStringsEncodeToTheirIdsAndDecodeBack) {
  // '[' is not in this corpus: the literals need no characters of their own.
  const auto chars = make_char_tokenizer("the cat sat on mat", false, true);
  const auto bytes = make_byte_tokenizer(false, true);
  for (const Tokenizer* tok : {chars.get(), bytes.get()}) {
    SCOPED_TRACE(tok->kind());
    const std::vector<int32_t> ids = tok->encode("[CLS]the [MASK] sat[SEP][PAD][PAD]");
    std::vector<int32_t> expected = {tok->cls_id()};
    for (const int32_t id : tok->encode("the ")) expected.push_back(id);
    expected.push_back(tok->mask_id());
    for (const int32_t id : tok->encode(" sat")) expected.push_back(id);
    expected.insert(expected.end(), {tok->sep_id(), tok->pad_id(), tok->pad_id()});
    EXPECT_EQ(ids, expected);
    // Pad writes nothing, as bos and eos always did.
    EXPECT_EQ(tok->decode(ids), "[CLS]the [MASK] sat[SEP]");
    EXPECT_EQ(tok->encode("[MASK][MASK]"), (std::vector<int32_t>{tok->mask_id(), tok->mask_id()}));
  }
  // Near misses are ordinary text.
  EXPECT_EQ(bytes->decode(bytes->encode("[MASK [mask] [[SEP] [")), "[MASK [mask] [[SEP] [");
  EXPECT_EQ(bytes->encode("[[SEP]").size(), 2u);
  const std::string refused = error_of([&] { chars->encode("the [MASK] ran"); });
  EXPECT_NE(refused.find("'r' at byte 11"), std::string::npos) << refused;
}

TEST(MlmSpecials, WithoutThemTheLiteralsAreOrdinaryText) {
  const auto tok = make_byte_tokenizer(true);
  EXPECT_EQ(tok->encode("[MASK]").size(), 6u);
  EXPECT_EQ(tok->decode(tok->encode("[CLS] [PAD]")), "[CLS] [PAD]");
}

TEST(MlmSpecials, HashesChangeOnlyWhenPresent) {
  // Tokenizers without MLM specials hash as they always did: datasets
  // prepared before MLM specials existed still open.
  EXPECT_EQ(make_byte_tokenizer()->vocabulary_hash(), fnv1a("weft-byte"));
  EXPECT_EQ(make_byte_tokenizer(true)->vocabulary_hash(), fnv1a("weft-byte+specials"));
  EXPECT_EQ(make_char_tokenizer("ab", true)->vocabulary_hash(), fnv1a("weft-char+specials:ab"));
  EXPECT_EQ(make_byte_tokenizer(false, true)->vocabulary_hash(), fnv1a("weft-byte+mlm"));
  EXPECT_EQ(make_byte_tokenizer(true, true)->vocabulary_hash(), fnv1a("weft-byte+specials+mlm"));
  EXPECT_EQ(make_char_tokenizer("ab", false, true)->vocabulary_hash(), fnv1a("weft-char+mlm:ab"));
  EXPECT_EQ(make_char_tokenizer("ab", true, true)->vocabulary_hash(),
            fnv1a("weft-char+specials+mlm:ab"));
}

TEST(MlmSpecials, TokenizerJsonRoundTripsThem) {
  TempDir dir;
  std::vector<std::unique_ptr<Tokenizer>> all;
  all.push_back(make_char_tokenizer("the cat", false, true));
  all.push_back(make_char_tokenizer("the cat", true, true));
  all.push_back(make_byte_tokenizer(false, true));
  all.push_back(make_byte_tokenizer(true, true));
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string sub = dir / std::to_string(i);
    all[i]->save(sub);
    const nlohmann::json json = nlohmann::json::parse(testing::read_text(sub + "/tokenizer.json"));
    EXPECT_EQ(json.at("mlm_specials"), true);
    EXPECT_EQ(json.at("mask_id"), all[i]->mask_id());
    const auto loaded = load_tokenizer(sub);
    EXPECT_EQ(loaded->vocabulary_hash(), all[i]->vocabulary_hash());
    EXPECT_EQ(loaded->cls_id(), all[i]->cls_id());
    EXPECT_EQ(loaded->sep_id(), all[i]->sep_id());
    EXPECT_EQ(loaded->mask_id(), all[i]->mask_id());
    EXPECT_EQ(loaded->pad_id(), all[i]->pad_id());
    EXPECT_EQ(loaded->encode("[CLS]the [MASK][SEP]"), all[i]->encode("[CLS]the [MASK][SEP]"));
  }
}

TEST(MlmSpecials, FilesWithoutTheFieldLoadAsBefore) {
  TempDir dir;
  make_byte_tokenizer(true)->save(dir / "old");
  const nlohmann::json json = nlohmann::json::parse(testing::read_text(dir / "old/tokenizer.json"));
  // A tokenizer without MLM specials writes the file it always wrote.
  EXPECT_FALSE(json.contains("mlm_specials"));
  EXPECT_FALSE(json.contains("mask_id"));
  EXPECT_FALSE(load_tokenizer(dir / "old")->has_mlm_specials());

  nlohmann::json wrong = nlohmann::json::parse(testing::read_text(dir / "old/tokenizer.json"));
  wrong["mlm_specials"] = "yes";
  testing::write_text(dir / "old/tokenizer.json", wrong.dump());
  const std::string message = error_of([&] { load_tokenizer(dir / "old"); });
  EXPECT_NE(message.find("malformed tokenizer file"), std::string::npos) << message;

  // Switching the field on by hand changes the vocabulary: the hash refuses it.
  wrong["mlm_specials"] = true;
  testing::write_text(dir / "old/tokenizer.json", wrong.dump());
  EXPECT_NE(error_of([&] { load_tokenizer(dir / "old"); }).find("says vocab_size"),
            std::string::npos);
}

TEST(MlmSpecials, SpecBuildsThemForEveryKind) {
  TokenizerSpec spec;
  spec.mlm_specials = true;
  for (const char* kind : {"char", "byte"}) {
    spec.kind = kind;
    EXPECT_TRUE(build_tokenizer(spec, "the cat")->has_mlm_specials()) << kind;
  }
}

}  // namespace
}  // namespace weft
