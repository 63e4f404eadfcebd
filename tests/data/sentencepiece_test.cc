// SentencePiece BPE and unigram, trained on a small generated text.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "support/error_testing.h"
#include "support/temp_dir.h"
#include "weft/data/tokenizer.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;

// 600 lines of words from a small lexicon, in a fixed pseudo-random order.
std::string generated_text() {
  const char* words[] = {"the",   "quick", "brown", "fox",  "jumps", "over",  "lazy",   "dog",
                         "while", "seven", "tired", "owls", "watch", "quiet", "rivers", "flow"};
  std::string text;
  uint32_t state = 12345;
  for (int line = 0; line < 600; ++line) {
    for (int w = 0; w < 7; ++w) {
      state = state * 1664525u + 1013904223u;
      text += words[(state >> 16) % 16];
      text += w < 6 ? " " : ".\n";
    }
  }
  return text;
}

class SentencePieceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SentencePieceTest, RoundTripsWithSpecialIdsZeroOneTwo) {
  const std::string text = generated_text();
  SentencePieceOptions options;
  options.model_type = GetParam();
  options.vocab_size = 80;
  const auto tok = train_sentencepiece(text, options);
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_LE(tok->vocab_size(), 80);
  EXPECT_GT(tok->vocab_size(), 20);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);

  // Newlines, repeated and edge spaces survive: normalisation is the identity.
  const std::string sample = "the quick  fox.\n\n over lazy owls \nflow";
  const std::vector<int32_t> ids = tok->encode(sample);
  EXPECT_LT(ids.size(), sample.size());  // pieces longer than characters were learned
  EXPECT_EQ(tok->decode(ids), sample);
  std::vector<int32_t> framed = {1};
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.insert(framed.end(), {2, 0, 0});
  EXPECT_EQ(tok->decode(framed), sample);
  const std::vector<int32_t> all = tok->encode(text);
  EXPECT_EQ(std::set<int32_t>(all.begin(), all.end()).count(2), 0u);  // no EOS inside text
  EXPECT_EQ(tok->decode(all), text);

  testing::TempDir dir;
  tok->save(dir.path());
  const auto loaded = load_tokenizer(dir.path());
  EXPECT_EQ(loaded->vocabulary_hash(), tok->vocabulary_hash());
  EXPECT_EQ(loaded->encode(sample), ids);
  // Training is deterministic: the same text gives the same vocabulary.
  EXPECT_EQ(train_sentencepiece(text, options)->vocabulary_hash(), tok->vocabulary_hash());
}

INSTANTIATE_TEST_SUITE_P(ModelTypes, SentencePieceTest, ::testing::Values("bpe", "unigram"));

TEST(SentencePiece, ModelTypesGiveDifferentVocabularies) {
  const std::string text = generated_text();
  SentencePieceOptions bpe, unigram;
  bpe.vocab_size = unigram.vocab_size = 80;
  unigram.model_type = "unigram";
  EXPECT_NE(train_sentencepiece(text, bpe)->vocabulary_hash(),
            train_sentencepiece(text, unigram)->vocabulary_hash());
}

TEST(SentencePiece, MlmSpecialsAreUserDefinedPieces) {
  const std::string text = generated_text();
  SentencePieceOptions options;
  options.vocab_size = 80;
  const auto plain = train_sentencepiece(text, options);
  EXPECT_FALSE(plain->has_mlm_specials());
  EXPECT_EQ(plain->mask_id(), -1);
  options.mlm_specials = true;
  const auto tok = train_sentencepiece(text, options);
  ASSERT_TRUE(tok->has_mlm_specials());
  EXPECT_EQ(tok->pad_id(), 0);
  const std::set<int32_t> ids = {tok->cls_id(), tok->sep_id(), tok->mask_id()};
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_GT(*ids.begin(), 3);  // after pad, bos, eos, unk
  EXPECT_NE(tok->vocabulary_hash(), plain->vocabulary_hash());

  const std::vector<int32_t> encoded = tok->encode("[CLS]the [MASK] fox[SEP][PAD]");
  ASSERT_GE(encoded.size(), 5u);
  EXPECT_EQ(encoded.front(), tok->cls_id());
  EXPECT_EQ(encoded.back(), tok->pad_id());
  EXPECT_EQ(encoded[encoded.size() - 2], tok->sep_id());
  EXPECT_EQ(std::count(encoded.begin(), encoded.end(), tok->mask_id()), 1);
  EXPECT_EQ(tok->decode(encoded), "[CLS]the [MASK] fox[SEP]");
  EXPECT_EQ(tok->decode(tok->encode(text)), text);

  testing::TempDir dir;
  tok->save(dir.path());
  const auto loaded = load_tokenizer(dir.path());
  EXPECT_EQ(loaded->mask_id(), tok->mask_id());
  EXPECT_EQ(loaded->encode("the [MASK] fox"), tok->encode("the [MASK] fox"));

  // Through the spec, as weft prepare --mlm-specials builds it.
  TokenizerSpec spec;
  spec.kind = "sentencepiece";
  spec.mlm_specials = true;
  spec.sentencepiece.vocab_size = 80;
  EXPECT_EQ(build_tokenizer(spec, text)->vocabulary_hash(), tok->vocabulary_hash());
  options.vocab_size = 10;
  EXPECT_NE(error_of([&] { train_sentencepiece(text, options); }).find("at least 11"),
            std::string::npos);
}

TEST(SentencePiece, RefusesBadOptionsAndAMissingModelFile) {
  SentencePieceOptions options;
  options.model_type = "wordpiece";
  EXPECT_THROW(train_sentencepiece("a b c\n", options), Error);
  options.model_type = "bpe";
  options.vocab_size = 2;
  EXPECT_THROW(train_sentencepiece("a b c\n", options), Error);
  options.vocab_size = 40;
  EXPECT_THROW(train_sentencepiece("\n\n", options), Error);

  testing::TempDir dir;
  options.vocab_size = 40;
  train_sentencepiece(generated_text(), options)->save(dir.path());
  std::filesystem::remove(dir / "tokenizer.model");
  try {
    load_tokenizer(dir.path());
    FAIL() << "a tokenizer without its model loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weft
