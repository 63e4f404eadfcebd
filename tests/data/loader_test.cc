// LmLoader and TranslationLoader: windows, padding layout, data-parallel rows
// equal to the single-rank batch, exact resume, refusals.

#include "weft/data/loader.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "support/temp_dir.h"
#include "weft/data/prepare.h"
#include "weft/model/config.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::TempDir;

std::vector<int32_t> values(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  return {p, p + t.numel()};
}

std::vector<int32_t> row(const Tensor& t, int64_t r) {
  const int32_t* p = t.data<int32_t>() + r * t.dim(1);
  return {p, p + t.dim(1)};
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no weft::Error thrown";
  return "";
}

class LmLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text;
    for (int i = 0; i < 300; ++i) text += "line " + std::to_string(i * 7919 % 1000) + ";\n";
    testing::write_text(dir_ / "corpus.txt", text);
    PrepareLmOptions options;
    options.input = dir_ / "corpus.txt";
    options.out_dir = dir_ / "data";
    info_ = prepare_lm(options);
  }
  TempDir dir_;
  DatasetInfo info_;
};

TEST_F(LmLoaderTest, TargetIsTheInputShiftedByOne) {
  LmLoader loader(info_, "train", 4, 16, 7);
  const TokenShard shard(info_.shard_path("train"));
  const Batch batch = loader.next();
  EXPECT_FALSE(batch.source.defined());
  ASSERT_EQ(batch.input.shape(), (Shape{4, 16}));
  ASSERT_EQ(batch.target.shape(), (Shape{4, 16}));
  std::set<int64_t> starts;
  for (int64_t r = 0; r < 4; ++r) {
    const int64_t start = loader.window_start(0, r);
    starts.insert(start);
    std::vector<int32_t> window(17);
    shard.read(start, 17, window.data());
    EXPECT_EQ(row(batch.input, r), std::vector<int32_t>(window.begin(), window.end() - 1));
    EXPECT_EQ(row(batch.target, r), std::vector<int32_t>(window.begin() + 1, window.end()));
  }
  EXPECT_EQ(starts.size(), 4u);
  EXPECT_NE(LmLoader(info_, "val", 4, 16, 7).next().input.shape(), Shape{});
  EXPECT_NE(loader.window_start(1, 0), loader.window_start(0, 0));
}

TEST_F(LmLoaderTest, DataParallelRanksTakeTheRowsOfTheSingleRankBatch) {
  LmLoader single(info_, "train", 4, 8, 3);
  LmLoader rank0(info_, "train", 4, 8, 3, 0, 2);
  LmLoader rank1(info_, "train", 4, 8, 3, 1, 2);
  for (int step = 0; step < 3; ++step) {
    const Batch all = single.next(), first = rank0.next(), second = rank1.next();
    ASSERT_EQ(first.input.shape(), (Shape{2, 8}));
    for (int64_t r = 0; r < 2; ++r) {
      EXPECT_EQ(row(first.input, r), row(all.input, r));
      EXPECT_EQ(row(second.input, r), row(all.input, 2 + r));
      EXPECT_EQ(row(second.target, r), row(all.target, 2 + r));
    }
    // Every rank knows the global batch's counted targets without asking.
    EXPECT_EQ(first.global_counted, count_targets(all.target));
    EXPECT_EQ(second.global_counted, count_targets(all.target));
  }
}

TEST_F(LmLoaderTest, RestoreContinuesWithTheNextBatchUnderAnyLayout) {
  LmLoader straight(info_, "train", 4, 8, 11);
  for (int i = 0; i < 3; ++i) straight.next();
  const nlohmann::json state = nlohmann::json::parse(straight.state().dump());
  const Batch expected = straight.next();

  LmLoader resumed(info_.dir, "train", 4, 8, 11);
  resumed.restore(state);
  EXPECT_EQ(values(resumed.next().input), values(expected.input));
  LmLoader rank1(info_, "train", 4, 8, 11, 1, 2);
  rank1.restore(state);
  EXPECT_EQ(row(rank1.next().target, 0), row(expected.target, 2));

  LmLoader other_seed(info_, "train", 4, 8, 12);
  EXPECT_NE(message_of([&] { other_seed.restore(state); }).find("seed"), std::string::npos);
  LmLoader val(info_, "val", 4, 8, 11);
  EXPECT_NE(message_of([&] { val.restore(state); }).find("split"), std::string::npos);
}

TEST_F(LmLoaderTest, RefusesABatchThatDoesNotSplitAndWindowsLongerThanTheText) {
  const std::string message = message_of([&] { LmLoader(info_, "train", 6, 8, 1, 0, 4); });
  EXPECT_NE(message.find("global batch of 6 is not divisible by the 4 data-parallel ranks"),
            std::string::npos)
      << message;
  EXPECT_THROW(LmLoader(info_, "train", 4, 8, 1, 2, 2), Error);
  EXPECT_THROW(LmLoader(info_, "val", 1, 100000, 1), Error);
  EXPECT_THROW(LmLoader(info_, "test", 1, 8, 1), Error);
}

class TranslationLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Sentence i: source "s" repeated i+1 times, target "t" repeated 2i+1 times.
    std::string source, target;
    for (int i = 0; i < 12; ++i) {
      source += std::string(i % 6 + 1, 's') + "\n";
      target += std::string(2 * (i % 6) + 1, 't') + "\n";
    }
    testing::write_text(dir_ / "src.txt", source);
    testing::write_text(dir_ / "tgt.txt", target);
    testing::write_text(dir_ / "dev.src", "s\nsss\n");
    testing::write_text(dir_ / "dev.tgt", "ttt\nt\n");
    PrepareTranslationOptions options;
    options.source = dir_ / "src.txt";
    options.target = dir_ / "tgt.txt";
    options.val_source = dir_ / "dev.src";
    options.val_target = dir_ / "dev.tgt";
    options.tokenizer.kind = "char";
    options.out_dir = dir_ / "data";
    info_ = prepare_translation(options);
  }
  TempDir dir_;
  DatasetInfo info_;
};

TEST_F(TranslationLoaderTest, PadsWithBosEosAndIgnoredTargets) {
  const auto& tok = *info_.tokenizer;  // pad 0, bos 1, eos 2, '\n'-free: 's' = 3, 't' = 4
  ASSERT_EQ(tok.encode("st"), (std::vector<int32_t>{3, 4}));
  TranslationLoader loader(info_, "val", 2, 1, /*shuffle=*/false, 16);
  const Batch batch = loader.next();
  const int32_t I = kIgnoreIndex;
  ASSERT_EQ(batch.source.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(batch.source), (std::vector<int32_t>{3, 2, 0, 0, /**/ 3, 3, 3, 2}));
  ASSERT_EQ(batch.input.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(batch.input), (std::vector<int32_t>{1, 4, 4, 4, /**/ 1, 4, 0, 0}));
  EXPECT_EQ(values(batch.target), (std::vector<int32_t>{4, 4, 4, 2, /**/ 4, 2, I, I}));
  // Unshuffled, the stream wraps to the first sentence again.
  EXPECT_EQ(values(loader.next().source), values(batch.source));
}

TEST_F(TranslationLoaderTest, RefusesASentenceLongerThanMaxLen) {
  // Training sentence 6 (from 1) has 11 target tokens, 12 with EOS.
  const std::string message =
      message_of([&] { TranslationLoader(info_, "train", 4, 1, true, 11); });
  EXPECT_NE(message.find("train.tgt.bin: sentence 6 has 11 tokens (12 with EOS/BOS), longer than "
                         "max_len 11"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(TranslationLoader(info_, "train", 4, 1, true, 12));
  EXPECT_THROW(TranslationLoader(info_, "train", 5, 1, true, 0, 0, 2), Error);
}

TEST_F(TranslationLoaderTest, ShuffledEpochsCoverEverySentenceAndRanksSplitRows) {
  TranslationLoader loader(info_, "train", 4, 5, true, 0);
  EXPECT_EQ(loader.sentences(), 12);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::set<int64_t> first_epoch;
  std::vector<int64_t> order;
  for (int64_t p = 0; p < 12; ++p) first_epoch.insert(loader.sentence_at(p));
  for (int64_t p = 0; p < 24; ++p) order.push_back(loader.sentence_at(p));
  EXPECT_EQ(first_epoch.size(), 12u);
  EXPECT_NE(std::vector<int64_t>(order.begin(), order.begin() + 12),
            std::vector<int64_t>(order.begin() + 12, order.end()));  // a new permutation

  TranslationLoader rank0(info_, "train", 4, 5, true, 0, 0, 2);
  TranslationLoader rank1(info_, "train", 4, 5, true, 0, 1, 2);
  for (int step = 0; step < 5; ++step) {
    const Batch all = loader.next(), first = rank0.next(), second = rank1.next();
    for (int64_t r = 0; r < 2; ++r) {
      // Each rank pads to its own longest sentence; the tokens are the same.
      const auto trim = [](std::vector<int32_t> v, int32_t pad) {
        while (!v.empty() && v.back() == pad) v.pop_back();
        return v;
      };
      EXPECT_EQ(trim(row(first.source, r), 0), trim(row(all.source, r), 0));
      EXPECT_EQ(trim(row(second.target, r), kIgnoreIndex),
                trim(row(all.target, 2 + r), kIgnoreIndex));
    }
    // The padded rows differ per rank; the global count of targets does not.
    EXPECT_EQ(first.counted + second.counted, count_targets(all.target));
    EXPECT_EQ(first.global_counted, count_targets(all.target));
    EXPECT_EQ(second.global_counted, count_targets(all.target));
    EXPECT_EQ(all.global_counted, all.counted);
  }
}

TEST_F(TranslationLoaderTest, RestoreContinuesWithTheNextBatch) {
  TranslationLoader straight(info_, "train", 4, 9, true, 0);
  for (int i = 0; i < 4; ++i) straight.next();  // into the second epoch
  const nlohmann::json state = straight.state();
  const Batch expected = straight.next();
  TranslationLoader resumed(info_.dir, "train", 4, 9, true, 0);
  resumed.restore(state);
  const Batch got = resumed.next();
  EXPECT_EQ(values(got.source), values(expected.source));
  EXPECT_EQ(values(got.target), values(expected.target));
  TranslationLoader unshuffled(info_, "train", 4, 9, false, 0);
  EXPECT_NE(message_of([&] { unshuffled.restore(state); }).find("shuffle"), std::string::npos);
  EXPECT_THROW(LmLoader(info_, "train", 4, 8, 1), Error);  // not a language-model dataset
}

// Token budgets: the 12 pairs have 2..7 source and 2..12 target positions.
TEST_F(TranslationLoaderTest, TokenBudgetEpochsCoverEverySentenceOnceWithinTheBudget) {
  TranslationLoader loader(info_, "train", 0, 5, true, 0, 0, 1, /*max_tokens=*/40);
  const int64_t batches = loader.batches_per_epoch();
  EXPECT_EQ(loader.batches_in_epochs(2), batches + loader.plan(1).batches());
  for (int epoch = 0; epoch < 2; ++epoch) {
    EXPECT_EQ(loader.epoch_position().epoch, epoch);
    EXPECT_DOUBLE_EQ(loader.epoch_position().epochs_done, epoch);
    std::multiset<std::vector<int32_t>> sources;
    for (int64_t b = 0; b < loader.plan(epoch).batches(); ++b) {
      const Batch batch = loader.next();
      EXPECT_LE(batch.source.numel() + batch.target.numel(), 40);
      EXPECT_EQ(batch.global_counted, batch.counted);
      for (int64_t r = 0; r < batch.source.dim(0); ++r) {
        std::vector<int32_t> tokens = row(batch.source, r);
        while (tokens.back() == 0) tokens.pop_back();  // padding
        sources.insert(tokens);
      }
    }
    // Sentences i and i + 6 are equal, so each source appears exactly twice.
    EXPECT_EQ(sources.size(), 12u);
    for (const auto& tokens : sources) EXPECT_EQ(sources.count(tokens), 2u);
  }
  EXPECT_EQ(loader.epoch_position().epoch, 2);
}

TEST_F(TranslationLoaderTest, TokenBudgetRanksTakeTheirShareOfTheSingleRankBatch) {
  // Layouts see the same batches unless an epoch's last batch has fewer
  // pairs than ranks (then it joins the one before). A budget of 50 makes
  // batches of 5, 3, 2 and 2 pairs (sorted by length; shuffled in order).
  const uint64_t seed = 3;
  TranslationLoader all(info_, "train", 0, seed, true, 0, 0, 1, 50);
  TranslationLoader first(info_, "train", 0, seed, true, 0, 0, 2, 50);
  TranslationLoader second(info_, "train", 0, seed, true, 0, 1, 2, 50);
  ASSERT_EQ(all.plan(0).starts.size(), 5u);
  for (int64_t e = 0; e < 3; ++e) ASSERT_EQ(all.plan(e).pairs, first.plan(e).pairs);
  const auto trim = [](std::vector<int32_t> v, int32_t pad) {
    while (!v.empty() && v.back() == pad) v.pop_back();
    return v;
  };
  bool uneven = false;
  for (int step = 0; step < 12; ++step) {
    const Batch whole = all.next(), a = first.next(), b = second.next();
    const int64_t k = whole.source.dim(0);
    ASSERT_EQ(a.source.dim(0) + b.source.dim(0), k);
    EXPECT_EQ(a.source.dim(0), k / 2);
    EXPECT_EQ(a.global_row, 0);
    EXPECT_EQ(b.global_row, k / 2);
    EXPECT_EQ(a.global_rows, k);
    uneven |= k % 2 == 1;
    for (int64_t r = 0; r < k; ++r) {
      const Batch& mine = r < k / 2 ? a : b;
      const int64_t local = r < k / 2 ? r : r - k / 2;
      EXPECT_EQ(trim(row(mine.target, local), kIgnoreIndex), trim(row(whole.target, r), kIgnoreIndex));
    }
    EXPECT_EQ(a.counted + b.counted, whole.counted);
    EXPECT_EQ(a.global_counted, whole.counted);
  }
  EXPECT_TRUE(uneven) << "the test should cover a batch of an odd number of pairs";
}

TEST_F(TranslationLoaderTest, TokenBudgetResumeIsExactMidEpochAndRefusesAnotherBudget) {
  TranslationLoader straight(info_, "train", 0, 9, true, 0, 0, 1, 40);
  const int64_t batches = straight.batches_per_epoch();
  for (int64_t i = 0; i < batches + 1; ++i) straight.next();  // into the second epoch
  const nlohmann::json state = straight.state();
  EXPECT_EQ(state.at("epoch"), 1);
  EXPECT_EQ(state.at("position"), 1);
  std::vector<Batch> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(straight.next());
  TranslationLoader resumed(info_.dir, "train", 0, 9, true, 0, 0, 1, 40);
  resumed.restore(state);
  for (const Batch& want : expected) {
    const Batch got = resumed.next();
    EXPECT_EQ(values(got.source), values(want.source));
    EXPECT_EQ(values(got.target), values(want.target));
  }
  TranslationLoader other_budget(info_, "train", 0, 9, true, 0, 0, 1, 48);
  EXPECT_NE(message_of([&] { other_budget.restore(state); }).find("max_tokens"), std::string::npos);
  TranslationLoader by_sentences(info_, "train", 4, 9, true, 0);
  EXPECT_NE(message_of([&] { by_sentences.restore(state); }).find("max_tokens"), std::string::npos);
  EXPECT_NE(message_of([&] { TranslationLoader(info_, "train", 0, 9, true, 0, 0, 1, 10); })
                .find("data.max_tokens 10 is smaller than pair"),
            std::string::npos);
}

}  // namespace
}  // namespace weft
