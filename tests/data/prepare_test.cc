// prepare_lm and prepare_translation on small generated files.

#include "weft/data/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "support/temp_dir.h"
#include "weft/data/shard.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::TempDir;

std::vector<int32_t> all_tokens(const std::string& path) {
  const TokenShard shard(path);
  std::vector<int32_t> tokens(shard.size());
  shard.read(0, shard.size(), tokens.data());
  return tokens;
}

// The decoded sentences of a translation shard (each ended by EOS).
std::vector<std::string> sentences(const std::string& path, const Tokenizer& tokenizer) {
  std::vector<std::string> out;
  std::vector<int32_t> sentence;
  for (const int32_t id : all_tokens(path)) {
    if (id == tokenizer.eos_id()) {
      out.push_back(tokenizer.decode(sentence));
      sentence.clear();
    } else {
      sentence.push_back(id);
    }
  }
  EXPECT_TRUE(sentence.empty()) << path << " does not end with EOS";
  return out;
}

std::string numbered_lines(int n, const std::string& word) {
  std::string text;
  for (int i = 0; i < n; ++i) text += word + " " + std::to_string(i) + "\n";
  return text;
}

TEST(PrepareLm, ValIsTheLastTenPercentAsNanoGpt) {
  TempDir dir;
  std::string text;
  while (text.size() < 1000) text += "To be, or not to be: that is the question.\n";
  text.resize(1000);
  testing::write_text(dir / "corpus.txt", text);
  PrepareLmOptions options;
  options.input = dir / "corpus.txt";
  options.out_dir = dir / "data";
  const DatasetInfo info = prepare_lm(options);

  EXPECT_FALSE(info.is_translation());
  EXPECT_EQ(info.tokenizer->kind(), "char");
  EXPECT_EQ(info.meta["train"]["tokens"], 900);
  EXPECT_EQ(info.meta["val"]["tokens"], 100);
  EXPECT_EQ(info.meta["split"]["method"], "fraction");
  EXPECT_EQ(info.tokenizer->decode(all_tokens(info.shard_path("train"))), text.substr(0, 900));
  EXPECT_EQ(info.tokenizer->decode(all_tokens(info.shard_path("val"))), text.substr(900));

  const DatasetInfo again = read_dataset(dir / "data");
  EXPECT_EQ(again.tokenizer->vocabulary_hash(), info.tokenizer->vocabulary_hash());
  EXPECT_EQ(again.meta["tokenizer"]["vocab_size"], info.tokenizer->vocab_size());
}

TEST(PrepareLm, TakesAHeldOutFileAndAnyTokenizer) {
  TempDir dir;
  testing::write_text(dir / "train.txt", numbered_lines(300, "alpha beta"));
  testing::write_text(dir / "val.txt", numbered_lines(30, "beta alpha"));
  PrepareLmOptions options;
  options.input = dir / "train.txt";
  options.val_input = dir / "val.txt";
  for (const std::string kind : {"byte", "sentencepiece"}) {
    options.tokenizer.kind = kind;
    options.tokenizer.sentencepiece.vocab_size = 60;
    options.out_dir = dir / kind;
    const DatasetInfo info = prepare_lm(options);
    EXPECT_EQ(info.tokenizer->kind(), kind);
    EXPECT_EQ(info.meta["split"]["method"], "file");
    EXPECT_EQ(info.tokenizer->decode(all_tokens(info.shard_path("val"))),
              testing::read_text(dir / "val.txt"));
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "sentencepiece/tokenizer.model"));
}

TEST(PrepareLm, RefusesBeforeWritingAnything) {
  TempDir dir;
  PrepareLmOptions options;
  options.input = dir / "absent.txt";
  options.out_dir = dir / "data";
  EXPECT_THROW(prepare_lm(options), Error);
  testing::write_text(dir / "corpus.txt", "abc");
  options.input = dir / "corpus.txt";
  options.val_fraction = 1.0;
  EXPECT_THROW(prepare_lm(options), Error);
  options.val_fraction = 0.1;
  options.tokenizer.kind = "word";
  EXPECT_THROW(prepare_lm(options), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(PrepareLm, MlmSpecialsForEveryKindAndNotForTranslation) {
  TempDir dir;
  testing::write_text(dir / "train.txt", numbered_lines(300, "alpha [MASK] beta"));
  PrepareLmOptions options;
  options.input = dir / "train.txt";
  options.tokenizer.mlm_specials = true;
  options.tokenizer.sentencepiece.vocab_size = 60;
  for (const std::string kind : {"char", "byte", "sentencepiece"}) {
    options.tokenizer.kind = kind;
    options.out_dir = dir / kind;
    const DatasetInfo info = prepare_lm(options);
    ASSERT_TRUE(info.tokenizer->has_mlm_specials()) << kind;
    EXPECT_EQ(info.meta["tokenizer"]["mask_id"], info.tokenizer->mask_id());
    // A literal [MASK] in the corpus is the mask token.
    const std::vector<int32_t> tokens = all_tokens(info.shard_path("train"));
    EXPECT_NE(std::find(tokens.begin(), tokens.end(), info.tokenizer->mask_id()), tokens.end());
  }
  PrepareLmOptions plain = options;
  plain.tokenizer = {};
  plain.out_dir = dir / "plain";
  EXPECT_FALSE(prepare_lm(plain).meta["tokenizer"].contains("mask_id"));

  testing::write_text(dir / "src.txt", numbered_lines(5, "one"));
  testing::write_text(dir / "tgt.txt", numbered_lines(5, "eins"));
  PrepareTranslationOptions pairs;
  pairs.source = dir / "src.txt";
  pairs.target = dir / "tgt.txt";
  pairs.tokenizer.mlm_specials = true;
  pairs.out_dir = dir / "pairs";
  EXPECT_THROW(prepare_translation(pairs), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "pairs"));
}

TEST(PrepareTranslation, RefusesMismatchedLineCountsNamingBothFiles) {
  TempDir dir;
  testing::write_text(dir / "src.txt", numbered_lines(5, "one"));
  testing::write_text(dir / "tgt.txt", numbered_lines(4, "eins"));
  PrepareTranslationOptions options;
  options.source = dir / "src.txt";
  options.target = dir / "tgt.txt";
  options.tokenizer.kind = "char";
  options.out_dir = dir / "data";
  try {
    prepare_translation(options);
    FAIL() << "misaligned files were accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir / "src.txt has 5 lines"), std::string::npos) << message;
    EXPECT_NE(message.find(dir / "tgt.txt has 4"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(PrepareTranslation, SharedVocabularySplitsTheLastLinesAndEndsSentencesWithEos) {
  TempDir dir;
  testing::write_text(dir / "src.txt", numbered_lines(20, "hello") + "\n");  // one empty pair
  testing::write_text(dir / "tgt.txt", numbered_lines(20, "hallo") + "\r\n");
  PrepareTranslationOptions options;
  options.source = dir / "src.txt";
  options.target = dir / "tgt.txt";
  options.tokenizer.kind = "char";
  options.out_dir = dir / "data";
  const DatasetInfo info = prepare_translation(options);

  EXPECT_TRUE(info.is_translation());
  EXPECT_TRUE(info.shared_vocabulary);
  EXPECT_EQ(info.source_tokenizer, info.tokenizer);
  EXPECT_EQ(info.tokenizer->eos_id(), 2);  // specials are forced on
  EXPECT_EQ(info.meta["train"]["sentences"], 18);
  EXPECT_EQ(info.meta["val"]["sentences"], 3);
  const auto train_src = sentences(info.shard_path("train", "src"), *info.tokenizer);
  ASSERT_EQ(train_src.size(), 18u);
  EXPECT_EQ(train_src[17], "hello 17");
  const auto val_tgt = sentences(info.shard_path("val", "tgt"), *info.tokenizer);
  EXPECT_EQ(val_tgt, (std::vector<std::string>{"hallo 18", "hallo 19", ""}));
}

TEST(PrepareTranslation, SeparateVocabulariesLiveInTheirOwnDirectories) {
  TempDir dir;
  testing::write_text(dir / "src.txt", numbered_lines(10, "abc"));
  testing::write_text(dir / "tgt.txt", numbered_lines(10, "xyz"));
  testing::write_text(dir / "dev.src", "abc 0\n");
  testing::write_text(dir / "dev.tgt", "xyz 0\n");
  PrepareTranslationOptions options;
  options.source = dir / "src.txt";
  options.target = dir / "tgt.txt";
  options.val_source = dir / "dev.src";
  options.val_target = dir / "dev.tgt";
  options.tokenizer.kind = "char";
  options.shared_vocabulary = false;
  options.out_dir = dir / "data";
  const DatasetInfo info = prepare_translation(options);
  EXPECT_FALSE(info.shared_vocabulary);
  EXPECT_TRUE(std::filesystem::exists(dir / "data/tokenizer_src/tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "data/tokenizer_tgt/tokenizer.json"));
  EXPECT_NE(info.source_tokenizer->vocabulary_hash(), info.tokenizer->vocabulary_hash());
  EXPECT_THROW(info.tokenizer->encode("abc"), Error);  // 'a' is source-only
  EXPECT_EQ(info.meta["train"]["sentences"], 10);
  EXPECT_EQ(sentences(info.shard_path("val", "src"), *info.source_tokenizer),
            std::vector<std::string>{"abc 0"});
}

TEST(ReadDataset, RefusesADirectoryWithoutMetaJson) {
  TempDir dir;
  try {
    read_dataset(dir.path());
    FAIL() << "an empty directory was read as a dataset";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "meta.json"), std::string::npos) << e.what();
  }
}

// meta.json names its tokenizers' folders and tokenizer.json its SentencePiece
// model: names that reach outside the dataset are refused, not followed.
TEST(ReadDataset, RefusesFilesNamedOutsideTheDataset) {
  TempDir dir;
  testing::write_text(dir / "train.txt", numbered_lines(300, "alpha beta"));
  PrepareLmOptions options;
  options.input = dir / "train.txt";
  options.tokenizer.kind = "sentencepiece";
  options.tokenizer.sentencepiece.vocab_size = 60;
  options.out_dir = dir / "data";
  prepare_lm(options);
  read_dataset(dir / "data");  // as prepared: reads

  const std::string tokenizer = testing::read_text(dir / "data/tokenizer.json");
  const std::string meta = testing::read_text(dir / "data/meta.json");
  const auto edited = [](std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tokenizer.json", edited(tokenizer, "\"tokenizer.model\"", "\"../data/tokenizer.model\"")},
      {"tokenizer.json", edited(tokenizer, "\"tokenizer.model\"", "\"/etc/passwd\"")},
      {"meta.json", edited(meta, "\"dir\": \".\"", "\"dir\": \"../data\"")},
  };
  for (const auto& [file, text] : cases) {
    testing::write_text(dir / ("data/" + file), text);
    try {
      read_dataset(dir / "data");
      ADD_FAILURE() << file << " naming a file outside the dataset was followed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("which is not a path inside"), std::string::npos)
          << e.what();
    }
    testing::write_text(dir / "data/tokenizer.json", tokenizer);
    testing::write_text(dir / "data/meta.json", meta);
  }
}

}  // namespace
}  // namespace weft
