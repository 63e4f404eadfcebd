// number_to_words on hand-checked values, and the built-in datasets.

#include "weft/data/builtin.h"

#include <gtest/gtest.h>

#include <set>

#include "support/temp_dir.h"
#include "weft/data/shard.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

TEST(NumberToWords, HandCheckedValues) {
  EXPECT_EQ(number_to_words(0), "zero");
  EXPECT_EQ(number_to_words(7), "seven");
  EXPECT_EQ(number_to_words(13), "thirteen");
  EXPECT_EQ(number_to_words(20), "twenty");
  EXPECT_EQ(number_to_words(21), "twenty-one");
  EXPECT_EQ(number_to_words(100), "one hundred");
  EXPECT_EQ(number_to_words(115), "one hundred fifteen");
  EXPECT_EQ(number_to_words(1000), "one thousand");
  EXPECT_EQ(number_to_words(4071), "four thousand seventy-one");
  EXPECT_EQ(number_to_words(90010), "ninety thousand ten");
  EXPECT_EQ(number_to_words(999999), "nine hundred ninety-nine thousand nine hundred ninety-nine");
  EXPECT_EQ(number_to_words(2000000), "two million");
  EXPECT_EQ(number_to_words(-45), "minus forty-five");
}

// Lines of a translation shard, decoded (each sentence ends with EOS).
std::vector<std::string> sentences(const std::string& path, const Tokenizer& tokenizer) {
  const TokenShard shard(path, tokenizer);
  std::vector<std::string> out(1);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < shard.size(); ++i) {
    if (shard[i] == tokenizer.eos_id()) {
      out.back() = tokenizer.decode(ids);
      out.emplace_back();
      ids.clear();
    } else {
      ids.push_back(shard[i]);
    }
  }
  out.pop_back();
  return out;
}

TEST(Builtin, NumbersPairsDigitsWithWordsAndHoldsOutUnseenNumbers) {
  testing::TempDir dir;
  const DatasetInfo info = prepare_builtin("numbers", dir / "numbers");
  ASSERT_TRUE(info.is_translation());
  EXPECT_TRUE(info.shared_vocabulary);
  EXPECT_EQ(info.tokenizer->kind(), "char");
  EXPECT_EQ(info.tokenizer->eos_id(), 2);
  const auto train_src = sentences(info.shard_path("train", "src"), *info.tokenizer);
  const auto train_tgt = sentences(info.shard_path("train", "tgt"), *info.tokenizer);
  const auto val_src = sentences(info.shard_path("val", "src"), *info.tokenizer);
  const auto val_tgt = sentences(info.shard_path("val", "tgt"), *info.tokenizer);
  ASSERT_EQ(train_src.size(), 20000u);
  ASSERT_EQ(train_tgt.size(), 20000u);
  ASSERT_EQ(val_src.size(), 500u);
  for (size_t i = 0; i < val_src.size(); ++i) {
    EXPECT_EQ(val_tgt[i], number_to_words(std::stoll(val_src[i])));
  }
  EXPECT_EQ(train_tgt[123], number_to_words(std::stoll(train_src[123])));
  const std::set<std::string> train(train_src.begin(), train_src.end());
  const std::set<std::string> val(val_src.begin(), val_src.end());
  EXPECT_EQ(val.size(), 500u);
  for (const std::string& n : val) EXPECT_FALSE(train.contains(n)) << n << " is in both";
  EXPECT_TRUE(train.contains("7"));  // small numbers are all trained on
  EXPECT_GT(train.size(), 10000u);

  // Deterministic: the same seed writes the same data, another seed other data.
  const DatasetInfo same = prepare_builtin("numbers", dir / "same");
  EXPECT_EQ(sentences(same.shard_path("val", "src"), *same.tokenizer), val_src);
  const DatasetInfo other = prepare_builtin("numbers", dir / "other", 2);
  EXPECT_NE(sentences(other.shard_path("val", "src"), *other.tokenizer), val_src);
}

TEST(Builtin, NumbersLmLinesAreCheckableAndValIsDisjoint) {
  testing::TempDir dir;
  const DatasetInfo info = prepare_builtin("numbers-lm", dir.path());
  ASSERT_FALSE(info.is_translation());
  std::set<int64_t> numbers[2];
  for (int split = 0; split < 2; ++split) {
    const TokenShard shard(info.shard_path(split == 0 ? "train" : "val"), *info.tokenizer);
    std::vector<int32_t> ids(shard.size());
    shard.read(0, shard.size(), ids.data());
    const std::string text = info.tokenizer->decode(ids);
    size_t begin = 0, lines = 0;
    while (begin < text.size()) {
      const size_t end = text.find('\n', begin);
      const std::string line = text.substr(begin, end - begin);
      const size_t is = line.find(" is ");
      const int64_t n = std::stoll(line.substr(0, is));
      ASSERT_EQ(line.substr(is + 4), number_to_words(n) + ".") << line;
      numbers[split].insert(n);
      begin = end + 1;
      ++lines;
    }
    EXPECT_EQ(lines, split == 0 ? 20000u : 1000u);
  }
  for (const int64_t n : numbers[1]) EXPECT_FALSE(numbers[0].contains(n)) << n;
}

TEST(Builtin, RefusesAnUnknownNameListingTheKnownOnes) {
  testing::TempDir dir;
  try {
    prepare_builtin("letters", dir / "x");
    FAIL() << "an unknown built-in dataset was prepared";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("numbers, numbers-lm"), std::string::npos);
  }
  EXPECT_EQ(builtin_dataset_names(),
            (std::vector<std::string>{"numbers", "numbers-lm", "numbers-mlm"}));
}

}  // namespace
}  // namespace weft
