// Token-budget batches: every pair once per epoch, the budget respected,
// lengths grouped, the plan a pure function of its inputs, refusals.

#include "weft/data/token_batches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

struct Pairs {
  std::vector<int64_t> source, target, order;
};

// n pairs with target lengths (BOS included) uniform in [2, 50] and source
// lengths up to 5 shorter, as translations' lengths go together; in
// reversed file order.
Pairs random_pairs(int64_t n, uint64_t seed) {
  Pairs p;
  for (int64_t i = 0; i < n; ++i) {
    p.target.push_back(2 + static_cast<int64_t>(rng::uniform01(seed, 2 * i) * 49));
    p.source.push_back(std::max<int64_t>(
        1, p.target.back() - static_cast<int64_t>(rng::uniform01(seed, 2 * i + 1) * 6)));
    p.order.push_back(i);
  }
  std::reverse(p.order.begin(), p.order.end());
  return p;
}

int64_t padded_cost(const Pairs& p, const TokenBatchPlan& plan, int64_t b) {
  int64_t s = 0, t = 0;
  for (int64_t k = plan.starts[b]; k < plan.starts[b + 1]; ++k) {
    s = std::max(s, p.source[plan.pairs[k]]);
    t = std::max(t, p.target[plan.pairs[k]]);
  }
  return plan.batch_size(b) * (s + t);
}

TEST(TokenBatches, EveryPairOnceAndEveryBatchWithinTheBudget) {
  for (const int64_t budget : {100, 512, 4096}) {
    const Pairs p = random_pairs(3000, 7);
    const TokenBatchPlan plan =
        plan_token_batches(p.source, p.target, p.order, budget, 1, true, 11);
    std::vector<int64_t> seen = plan.pairs;
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(3000);
    std::iota(all.begin(), all.end(), int64_t{0});
    EXPECT_EQ(seen, all) << "budget " << budget;
    int64_t padded = 0, tokens = 0;
    for (int64_t b = 0; b < plan.batches(); ++b) {
      ASSERT_GE(plan.batch_size(b), 1);
      EXPECT_LE(padded_cost(p, plan, b), budget) << "batch " << b << " of budget " << budget;
      padded += padded_cost(p, plan, b);
    }
    for (int64_t i = 0; i < 3000; ++i) tokens += p.source[i] + p.target[i];
    EXPECT_EQ(plan.padded_tokens, padded);
    EXPECT_EQ(plan.tokens, tokens);
    // Greedy packing fills batches: two neighbours in sorted order would not fit together,
    // so the batches hold, on average, more than half the budget.
    EXPECT_GT(static_cast<double>(padded) / static_cast<double>(plan.batches()), 0.5 * budget);
  }
}

TEST(TokenBatches, GroupingByLengthKeepsPaddingSmall) {
  const Pairs p = random_pairs(3000, 3);
  const TokenBatchPlan sorted = plan_token_batches(p.source, p.target, p.order, 2048, 1, true, 5);
  // Unsorted, batches of these lengths would pad about 40% of their
  // positions; sorted within chunks, a few percent.
  EXPECT_LT(sorted.padding_share(), 0.10);
  EXPECT_GE(sorted.padding_share(), 0.0);
}

TEST(TokenBatches, DeterministicAndShuffledOnlyWhenAsked) {
  const Pairs p = random_pairs(500, 1);
  const TokenBatchPlan a = plan_token_batches(p.source, p.target, p.order, 600, 1, true, 9);
  const TokenBatchPlan b = plan_token_batches(p.source, p.target, p.order, 600, 1, true, 9);
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.starts, b.starts);
  const TokenBatchPlan other = plan_token_batches(p.source, p.target, p.order, 600, 1, true, 10);
  EXPECT_NE(a.pairs, other.pairs);  // another batch order
  // Unshuffled, batches come in sorted order: target lengths never fall.
  const TokenBatchPlan in_order = plan_token_batches(p.source, p.target, p.order, 600, 1, false, 9);
  for (size_t k = 1; k < in_order.pairs.size(); ++k) {
    EXPECT_LE(p.target[in_order.pairs[k - 1]], p.target[in_order.pairs[k]]) << k;
  }
}

TEST(TokenBatches, TheLastFewPairsJoinTheBatchBeforeWhenRanksNeedThem) {
  // Four pairs of 10 + 10 positions, a budget of 60: batches of 3 and 1.
  const std::vector<int64_t> len = {10, 10, 10, 10}, order = {0, 1, 2, 3};
  const TokenBatchPlan one = plan_token_batches(len, len, order, 60, 1, false, 0);
  EXPECT_EQ(one.starts, (std::vector<int64_t>{0, 3, 4}));
  // Two ranks cannot share one pair: it joins the batch before.
  const TokenBatchPlan two = plan_token_batches(len, len, order, 60, 2, false, 0);
  EXPECT_EQ(two.starts, (std::vector<int64_t>{0, 4}));
}

TEST(TokenBatches, RefusesABudgetTooSmallForThePairsOrTheRanks) {
  const std::vector<int64_t> source = {5, 30, 4}, target = {6, 20, 3}, order = {0, 1, 2};
  try {
    plan_token_batches(source, target, order, 49, 1, true, 0);
    ADD_FAILURE() << "a pair of 50 positions passed a budget of 49";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.max_tokens 49 is smaller than pair 2 (30 source + "
                                         "20 target positions); raise data.max_tokens to at "
                                         "least 50"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(plan_token_batches(source, target, order, 50, 1, true, 0));
  try {
    plan_token_batches(source, target, order, 99, 2, true, 0);
    ADD_FAILURE() << "two ranks of 50-position pairs passed a budget of 99";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("raise data.max_tokens to at least 100"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(plan_token_batches(source, target, order, 0, 1, true, 0), Error);
  EXPECT_THROW(plan_token_batches(source, target, order, 100, 4, true, 0), Error);  // 3 pairs, 4 ranks
}

}  // namespace
}  // namespace weft
