#pragma once
// Token-budget batches of sentence pairs, as NMT toolkits make them
// (fairseq's --max-tokens, Marian's --mini-batch-words): a batch holds as
// many pairs as fit max_tokens source + target positions after padding,
// i.e. pairs · (longest source + longest target) ≤ max_tokens. Pairs of
// similar length go together, so padding stays small:
//   1. the epoch's order (a permutation, or file order) is cut into chunks
//      of kSortChunk pairs, each sorted by (target length, source length);
//   2. the sorted stream is cut greedily into batches within the budget;
//   3. when shuffling, the batches' order is shuffled too, so lengths do not
//      rise and fall through the epoch.
// Every pair is in exactly one batch. The plan does not depend on how many
// data-parallel ranks share a batch (min_pairs), so every layout trains on
// the same batches, with one exception: an epoch's last pairs, when fewer
// than min_pairs, join the batch before them (which may then exceed the
// budget by those few pairs), so that each rank gets at least one pair.

#include <cstdint>
#include <vector>

namespace weft {

struct TokenBatchPlan {
  std::vector<int64_t> pairs;   // pair ids (file order, from 0) in batch order
  std::vector<int64_t> starts;  // batch b is pairs[starts[b], starts[b+1])
  int64_t tokens = 0;           // source + target positions the pairs fill
  int64_t padded_tokens = 0;    // Σ over batches of pairs · (longest source + longest target)

  int64_t batches() const { return static_cast<int64_t>(starts.size()) - 1; }
  int64_t batch_size(int64_t b) const { return starts[b + 1] - starts[b]; }
  // The share of the batches' positions that are padding (0 when empty).
  double padding_share() const;
};

inline constexpr int64_t kSortChunk = 1 << 14;

// source_len[i], target_len[i]: pair i's positions (source with EOS, target
// with BOS). order: the epoch's pair order, every pair once. batch_key:
// where the batches' order is shuffled from (shuffle_batches). Throws
// weft::Error when a pair (or min_pairs of the longest) exceeds the budget.
TokenBatchPlan plan_token_batches(const std::vector<int64_t>& source_len,
                                  const std::vector<int64_t>& target_len,
                                  const std::vector<int64_t>& order, int64_t max_tokens,
                                  int64_t min_pairs, bool shuffle_batches, uint64_t batch_key);

}  // namespace weft
