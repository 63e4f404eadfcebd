// MlmLoader: [CLS] window [SEP] rows over LmLoader's windows, the single-rank
// batch split over data-parallel ranks, exact resume, epochs, refusals.

#include "weft/data/mlm_loader.h"

#include <gtest/gtest.h>

#include "support/error_testing.h"
#include "support/temp_dir.h"
#include "weft/data/prepare.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;
using testing::TempDir;

std::vector<int32_t> row(const Tensor& t, int64_t r) {
  const int32_t* p = t.data<int32_t>() + r * t.dim(1);
  return {p, p + t.dim(1)};
}

std::vector<int32_t> values(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  return {p, p + t.numel()};
}

class MlmLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text;
    for (int i = 0; i < 300; ++i) text += "line " + std::to_string(i * 7919 % 1000) + ";\n";
    testing::write_text(dir_ / "corpus.txt", text);
    info_ = prepare(true, dir_ / "data");
  }
  DatasetInfo prepare(bool mlm_specials, const std::string& out) {
    PrepareLmOptions options;
    options.input = dir_ / "corpus.txt";
    options.out_dir = out;
    options.tokenizer.mlm_specials = mlm_specials;
    return prepare_lm(options);
  }
  TempDir dir_;
  DatasetInfo info_;
};

TEST_F(MlmLoaderTest, RowsAreClsThenLmWindowThenSep) {
  const Tokenizer& tok = *info_.tokenizer;
  MlmLoader loader(info_, "train", 4, 16, 7);
  LmLoader windows(info_, "train", 4, 14, 7);
  for (int step = 0; step < 2; ++step) {
    const Batch batch = loader.next();
    const Batch lm = windows.next();
    ASSERT_EQ(batch.input.shape(), (Shape{4, 16}));
    ASSERT_EQ(batch.target.shape(), (Shape{4, 16}));
    EXPECT_FALSE(batch.source.defined());
    int64_t masked = 0;
    for (int64_t r = 0; r < 4; ++r) {
      std::vector<int32_t> expected = {tok.cls_id()};
      for (const int32_t id : row(lm.input, r)) expected.push_back(id);
      expected.push_back(tok.sep_id());
      // The originals: the target where a position was masked, else the input.
      const std::vector<int32_t> input = row(batch.input, r), target = row(batch.target, r);
      std::vector<int32_t> original = input;
      for (size_t t = 0; t < input.size(); ++t) {
        if (target[t] != kIgnoreIndex) original[t] = target[t], ++masked;
      }
      EXPECT_EQ(original, expected);
      EXPECT_EQ(target.front(), kIgnoreIndex);  // [CLS] and [SEP] are never masked
      EXPECT_EQ(target.back(), kIgnoreIndex);
    }
    // 15% of 56 window tokens: none masked has probability 1e-4.
    EXPECT_GT(masked, 0);
    EXPECT_EQ(batch.counted, masked);
    EXPECT_EQ(batch.global_counted, masked);
    EXPECT_EQ(batch.global_row, 0);
    EXPECT_EQ(batch.global_rows, 4);
  }
  EXPECT_EQ(loader.batches_drawn(), 2);
  // The window's text decodes between the two literals.
  const std::string text = tok.decode(row(loader.next().input, 0));
  EXPECT_EQ(text.rfind("[CLS]", 0), 0u) << text;
  EXPECT_EQ(text.substr(text.size() - 5), "[SEP]") << text;
}

TEST_F(MlmLoaderTest, DataParallelRanksTakeTheRowsOfTheSingleRankBatch) {
  MlmLoader single(info_, "train", 4, 10, 3);
  MlmLoader rank0(info_, "train", 4, 10, 3, 0, 2);
  MlmLoader rank1(info_, "train", 4, 10, 3, 1, 2);
  for (int step = 0; step < 3; ++step) {
    const Batch all = single.next(), first = rank0.next(), second = rank1.next();
    ASSERT_EQ(first.input.shape(), (Shape{2, 10}));
    EXPECT_EQ(first.global_row, 0);
    EXPECT_EQ(second.global_row, 2);
    EXPECT_EQ(second.global_rows, 4);
    // Every rank knows the global micro-batch's masked tokens.
    EXPECT_EQ(first.counted + second.counted, all.counted);
    EXPECT_EQ(first.global_counted, all.counted);
    EXPECT_EQ(second.global_counted, all.counted);
    for (int64_t r = 0; r < 2; ++r) {
      EXPECT_EQ(row(first.input, r), row(all.input, r));
      EXPECT_EQ(row(second.input, r), row(all.input, 2 + r));
      EXPECT_EQ(row(second.target, r), row(all.target, 2 + r));
    }
  }
}

TEST_F(MlmLoaderTest, RestoreContinuesWithTheNextBatchUnderAnyLayout) {
  MlmLoader straight(info_, "train", 4, 8, 11);
  for (int i = 0; i < 3; ++i) straight.next();
  const nlohmann::json state = nlohmann::json::parse(straight.state().dump());
  EXPECT_EQ(state,
            (nlohmann::json{{"loader", "mlm"}, {"split", "train"}, {"seed", 11}, {"batch", 3}}));
  const Batch expected = straight.next();

  MlmLoader resumed(info_.dir, "train", 4, 8, 11);
  resumed.restore(state);
  EXPECT_EQ(values(resumed.next().input), values(expected.input));
  MlmLoader rank1(info_, "train", 4, 8, 11, 1, 2);
  rank1.restore(state);
  EXPECT_EQ(row(rank1.next().input, 0), row(expected.input, 2));

  MlmLoader other_seed(info_, "train", 4, 8, 12);
  EXPECT_NE(error_of([&] { other_seed.restore(state); }).find("seed"), std::string::npos);
  MlmLoader val(info_, "val", 4, 8, 11);
  EXPECT_NE(error_of([&] { val.restore(state); }).find("split"), std::string::npos);
  // An LmLoader's state is another stream's position.
  LmLoader lm(info_, "train", 4, 6, 11);
  lm.next();
  const std::string message = error_of([&] { resumed.restore(lm.state()); });
  EXPECT_NE(message.find("loader = \"lm\""), std::string::npos) << message;
  EXPECT_NE(error_of([&] { lm.restore(state); }).find("loader = \"mlm\""), std::string::npos);
}

TEST_F(MlmLoaderTest, EpochsCountTheWindowTokens) {
  MlmLoader loader(info_, "train", 4, 10, 5);
  LmLoader windows(info_, "train", 4, 8, 5);
  EXPECT_EQ(loader.batches_in_epochs(3), windows.batches_in_epochs(3));
  for (int i = 0; i < 7; ++i) loader.next(), windows.next();
  EXPECT_DOUBLE_EQ(loader.epoch_position().epochs_done, windows.epoch_position().epochs_done);
  EXPECT_EQ(loader.epoch_position().batches, windows.epoch_position().batches);
}

TEST_F(MlmLoaderTest, RefusesDataWithoutMlmSpecialsAndRowsTooShort) {
  const DatasetInfo plain = prepare(false, dir_ / "plain");
  const std::string message = error_of([&] { MlmLoader(plain, "train", 4, 16, 1); });
  EXPECT_NE(message.find("--mlm-specials"), std::string::npos) << message;
  EXPECT_NE(message.find("[MASK]"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { MlmLoader(info_, "train", 4, 2, 1); }).find("at least 3"),
            std::string::npos);
  EXPECT_NO_THROW(MlmLoader(info_, "train", 4, 3, 1));
  EXPECT_NE(error_of([&] { MlmLoader(info_, "train", 6, 8, 1, 0, 4); }).find("not divisible"),
            std::string::npos);
  EXPECT_THROW(MlmLoader(info_, "val", 1, 100000, 1), Error);
}

}  // namespace
}  // namespace weft
