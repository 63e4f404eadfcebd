#include "weft/data/token_batches.h"

#include <algorithm>

#include "data/loader_common.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// Refuses a budget that cannot hold min_pairs pairs of the split's longest
// lengths: then every batch can take at least min_pairs pairs.
void check_budget(const std::vector<int64_t>& source_len, const std::vector<int64_t>& target_len,
                  int64_t max_tokens, int64_t min_pairs) {
  int64_t longest_pair = 0, longest_source = 0, longest_target = 0;
  size_t longest_at = 0;
  for (size_t i = 0; i < source_len.size(); ++i) {
    if (source_len[i] + target_len[i] > longest_pair) {
      longest_pair = source_len[i] + target_len[i];
      longest_at = i;
    }
    longest_source = std::max(longest_source, source_len[i]);
    longest_target = std::max(longest_target, target_len[i]);
  }
  WEFT_CHECK(longest_pair <= max_tokens, "data.max_tokens ", max_tokens, " is smaller than pair ",
             longest_at + 1, " (", source_len[longest_at], " source + ", target_len[longest_at],
             " target positions); raise data.max_tokens to at least ", longest_pair);
  WEFT_CHECK(min_pairs * (longest_source + longest_target) <= max_tokens, "data.max_tokens ",
             max_tokens, " cannot give each of the ", min_pairs, " data-parallel ranks a pair of ",
             "the longest lengths (", longest_source, " source + ", longest_target,
             " target positions); raise data.max_tokens to at least ",
             min_pairs * (longest_source + longest_target));
}

}  // namespace

double TokenBatchPlan::padding_share() const {
  if (padded_tokens == 0) return 0.0;
  return 1.0 - static_cast<double>(tokens) / static_cast<double>(padded_tokens);
}

TokenBatchPlan plan_token_batches(const std::vector<int64_t>& source_len,
                                  const std::vector<int64_t>& target_len,
                                  const std::vector<int64_t>& order, int64_t max_tokens,
                                  int64_t min_pairs, bool shuffle_batches, uint64_t batch_key) {
  WEFT_CHECK(source_len.size() == target_len.size() && order.size() == source_len.size(),
             "plan_token_batches: ", source_len.size(), " source lengths, ", target_len.size(),
             " target lengths and an order of ", order.size());
  WEFT_CHECK(max_tokens > 0, "data.max_tokens must be positive, got ", max_tokens);
  WEFT_CHECK(min_pairs >= 1, "plan_token_batches: min_pairs must be >= 1, got ", min_pairs);
  const auto n = static_cast<int64_t>(order.size());
  WEFT_CHECK(n >= min_pairs, "the split holds ", n, " sentence pairs, fewer than the ", min_pairs,
             " data-parallel ranks");
  check_budget(source_len, target_len, max_tokens, min_pairs);

  // 1. Sorted within chunks of the epoch's order; ties keep that order.
  std::vector<int64_t> sorted = order;
  for (int64_t c0 = 0; c0 < n; c0 += kSortChunk) {
    std::stable_sort(sorted.begin() + c0, sorted.begin() + std::min(n, c0 + kSortChunk),
                     [&](int64_t a, int64_t b) {
                       if (target_len[a] != target_len[b]) return target_len[a] < target_len[b];
                       return source_len[a] < source_len[b];
                     });
  }

  // 2. Greedy batches within the budget. The check above makes each hold at
  // least min_pairs pairs: it closes when one more would not fit.
  std::vector<int64_t> starts = {0};
  int64_t begin = 0;
  while (begin < n) {
    int64_t longest_source = 0, longest_target = 0, end = begin;
    while (end < n) {
      const int64_t s = std::max(longest_source, source_len[sorted[end]]);
      const int64_t t = std::max(longest_target, target_len[sorted[end]]);
      if ((end - begin + 1) * (s + t) > max_tokens) break;
      longest_source = s;
      longest_target = t;
      ++end;
    }
    if (n - end < min_pairs) end = n;  // too few left for a batch of their own
    starts.push_back(end);
    begin = end;
  }

  // 3. The batches in shuffled order (Fisher–Yates from the counter-based
  // generator), or as made.
  const int64_t batches = static_cast<int64_t>(starts.size()) - 1;
  std::vector<int64_t> batch_order(batches);
  for (int64_t b = 0; b < batches; ++b) batch_order[b] = b;
  if (shuffle_batches) data::shuffle(batch_order, batch_key);
  TokenBatchPlan plan;
  plan.pairs.reserve(n);
  plan.starts = {0};
  for (int64_t b : batch_order) {
    int64_t longest_source = 0, longest_target = 0;
    for (int64_t k = starts[b]; k < starts[b + 1]; ++k) {
      const int64_t pair = sorted[k];
      plan.pairs.push_back(pair);
      plan.tokens += source_len[pair] + target_len[pair];
      longest_source = std::max(longest_source, source_len[pair]);
      longest_target = std::max(longest_target, target_len[pair]);
    }
    plan.padded_tokens += (starts[b + 1] - starts[b]) * (longest_source + longest_target);
    plan.starts.push_back(static_cast<int64_t>(plan.pairs.size()));
  }
  return plan;
}

}  // namespace weft
