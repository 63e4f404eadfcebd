// Char and byte tokenizers: vocabularies, round trips, refusals, save/load.

#include "weft/data/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "support/error_testing.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;

using testing::TempDir;

const std::string kCorpus = "First Citizen:\nBefore we proceed any further, hear me speak.\n";

TEST(CharTokenizer, VocabularyIsTheSortedDistinctBytes) {
  const auto tok = make_char_tokenizer(kCorpus);
  EXPECT_EQ(tok->kind(), "char");
  EXPECT_EQ(tok->vocab_size(), 27);  // nanoGPT: sorted(set(text))
  EXPECT_EQ(tok->pad_id(), -1);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->eos_id(), -1);
  EXPECT_FALSE(tok->has_specials());
  // '\n' < ' ' < ',' < '.' < ':' < 'B' < ... : ids follow byte order.
  EXPECT_EQ(tok->encode("\n .B"), (std::vector<int32_t>{0, 1, 3, 5}));
  EXPECT_EQ(tok->decode(tok->encode(kCorpus)), kCorpus);
}

TEST(CharTokenizer, SpecialsComeFirstAndDecodeSkipsThem) {
  const auto tok = make_char_tokenizer(kCorpus, /*with_specials=*/true);
  EXPECT_EQ(tok->vocab_size(), 30);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->encode("\n .B"), (std::vector<int32_t>{3, 4, 6, 8}));
  std::vector<int32_t> ids = {1};
  for (const int32_t id : tok->encode("hear me")) ids.push_back(id);
  ids.push_back(2);
  ids.push_back(0);
  EXPECT_EQ(tok->decode(ids), "hear me");
  EXPECT_NE(tok->vocabulary_hash(), make_char_tokenizer(kCorpus)->vocabulary_hash());
}

TEST(CharTokenizer, RefusesAnUnknownCharacterByName) {
  const auto tok = make_char_tokenizer(kCorpus);
  const std::string message = error_of([&] { tok->encode("speak!"); });
  EXPECT_NE(message.find("'!'"), std::string::npos) << message;
  EXPECT_NE(message.find("at byte 5"), std::string::npos) << message;
  const std::string utf8 = error_of([&] { tok->encode("caf\xc3\xa9"); });
  EXPECT_NE(utf8.find("'\xc3\xa9' (bytes 0xc3 0xa9)"), std::string::npos) << utf8;
  EXPECT_THROW(tok->decode({27}), Error);
  EXPECT_THROW(make_char_tokenizer(""), Error);
}

TEST(CharTokenizer, HashIsStableAndNamesTheVocabulary) {
  EXPECT_EQ(make_char_tokenizer("ab")->vocabulary_hash(),
            make_char_tokenizer("baab")->vocabulary_hash());
  EXPECT_NE(make_char_tokenizer("ab")->vocabulary_hash(),
            make_char_tokenizer("abc")->vocabulary_hash());
  // Fixed across runs and machines: FNV-1a of "weft-char:" then the bytes.
  uint64_t fnv = 0xcbf29ce484222325ull;
  for (const char c : std::string("weft-char:ab")) {
    fnv = (fnv ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  }
  EXPECT_EQ(make_char_tokenizer("ab")->vocabulary_hash(), fnv);
  EXPECT_EQ(hash_hex(0x0123456789abcdefull), "0123456789abcdef");
}

TEST(ByteTokenizer, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (const bool specials : {false, true}) {
    const auto tok = make_byte_tokenizer(specials);
    EXPECT_EQ(tok->kind(), "byte");
    EXPECT_EQ(tok->vocab_size(), specials ? 259 : 256);
    const auto ids = tok->encode(all);
    EXPECT_EQ(ids.front(), specials ? 3 : 0);
    EXPECT_EQ(ids.back(), specials ? 258 : 255);
    EXPECT_EQ(tok->decode(ids), all);
    EXPECT_EQ(tok->eos_id(), specials ? 2 : -1);
  }
  EXPECT_NE(make_byte_tokenizer(true)->vocabulary_hash(),
            make_byte_tokenizer(false)->vocabulary_hash());
}

TEST(TokenizerFile, SaveAndLoadGiveTheSameTokenizer) {
  TempDir dir;
  const std::vector<std::unique_ptr<Tokenizer>> tokenizers = [] {
    std::vector<std::unique_ptr<Tokenizer>> all;
    all.push_back(make_char_tokenizer(kCorpus + "\xff"));
    all.push_back(make_char_tokenizer(kCorpus, true));
    all.push_back(make_byte_tokenizer(true));
    return all;
  }();
  for (size_t i = 0; i < tokenizers.size(); ++i) {
    const std::string sub = dir / std::to_string(i);
    tokenizers[i]->save(sub);
    const auto loaded = load_tokenizer(sub);
    EXPECT_EQ(loaded->kind(), tokenizers[i]->kind());
    EXPECT_EQ(loaded->vocab_size(), tokenizers[i]->vocab_size());
    EXPECT_EQ(loaded->vocabulary_hash(), tokenizers[i]->vocabulary_hash());
    EXPECT_EQ(loaded->eos_id(), tokenizers[i]->eos_id());
    EXPECT_EQ(loaded->encode(kCorpus), tokenizers[i]->encode(kCorpus));
  }
}

TEST(TokenizerFile, RefusesMissingMalformedAndEditedFilesByName) {
  TempDir dir;
  EXPECT_NE(error_of([&] { load_tokenizer(dir / "nowhere"); }).find("nowhere/tokenizer.json"),
            std::string::npos);

  std::filesystem::create_directories(dir / "bad");
  testing::write_text(dir / "bad/tokenizer.json", "{\"format\": \"weft-tokenizer\", ");
  const std::string malformed = error_of([&] { load_tokenizer(dir / "bad"); });
  EXPECT_NE(malformed.find("bad/tokenizer.json: malformed"), std::string::npos) << malformed;

  testing::write_text(dir / "bad/tokenizer.json",
                      "{\"format\": \"weft-tokenizer\", "
                      "\"version\": 1, \"kind\": \"word\"}");
  EXPECT_NE(error_of([&] { load_tokenizer(dir / "bad"); }).find("unknown tokenizer kind 'word'"),
            std::string::npos);

  // One character dropped from the list: the stored hash no longer matches.
  make_char_tokenizer("abc")->save(dir / "edited");
  std::string json = testing::read_text(dir / "edited/tokenizer.json");
  const size_t at = json.find(" 99\n");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 3, " 100");
  testing::write_text(dir / "edited/tokenizer.json", json);
  const std::string edited = error_of([&] { load_tokenizer(dir / "edited"); });
  EXPECT_NE(edited.find("edited/tokenizer.json: says vocabulary_hash"), std::string::npos)
      << edited;
}

// Numbers JSON cannot hold as integers: past 2^64 it writes a float, whose
// conversion to an integer would be undefined (found by fuzz_tokenizer).
TEST(TokenizerFile, RefusesNumbersThatAreNotIntegersInRange) {
  TempDir dir;
  make_byte_tokenizer()->save(dir / "t");
  const std::string good = testing::read_text(dir / "t/tokenizer.json");
  struct Case {
    std::string key, value, message;
  };
  for (const Case& c : {Case{"vocab_size", "28888888888888888888888", "\"vocab_size\" must be an integer"},
                        Case{"vocab_size", "-3", "\"vocab_size\" is -3"},
                        Case{"version", "1e300", "version 1e+300 is not supported"},
                        Case{"version", "1.0", "version 1.0 is not supported"}}) {
    nlohmann::json json = nlohmann::json::parse(good);
    json[c.key] = nlohmann::json::parse(c.value);
    testing::write_text(dir / "t/tokenizer.json", json.dump());
    const std::string message = error_of([&] { load_tokenizer(dir / "t"); });
    EXPECT_NE(message.find(c.message), std::string::npos) << c.key << " = " << c.value << ": "
                                                          << message;
  }
  make_char_tokenizer("abc")->save(dir / "c");
  nlohmann::json chars = nlohmann::json::parse(testing::read_text(dir / "c/tokenizer.json"));
  chars["characters"][1] = 98.5;
  testing::write_text(dir / "c/tokenizer.json", chars.dump());
  const std::string message = error_of([&] { load_tokenizer(dir / "c"); });
  EXPECT_NE(message.find("an entry of \"characters\" must be an integer, got 98.5"),
            std::string::npos)
      << message;
}

TEST(TokenizerSpec, BuildsEachKindAndRefusesAnUnknownOne) {
  TokenizerSpec spec;
  EXPECT_EQ(build_tokenizer(spec, "abc")->vocab_size(), 3);
  spec.kind = "byte";
  EXPECT_EQ(build_tokenizer(spec, "abc")->vocab_size(), 256);
  spec.kind = "word";
  EXPECT_THROW(build_tokenizer(spec, "abc"), Error);
}

}  // namespace
}  // namespace weft
