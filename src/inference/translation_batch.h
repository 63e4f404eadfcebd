#pragma once
// What beam search and greedy search share: batching sources, their length
// limits, and log-probabilities from a row of logits.

#include <functional>
#include <vector>

#include "weft/inference/beam_search.h"

namespace weft::detail {

using Sources = std::vector<std::vector<int32_t>>;

// Runs decode(group) on groups of sources that can share a batch (all of
// them when the model has a pad id, else those of equal length) and returns
// the results in the sources' order. `decode` gets the indices of a group and
// returns one hypothesis per index.
std::vector<Hypothesis> decode_in_groups(
    const Sources& sources, const ModelConfig& config,
    const std::function<std::vector<Hypothesis>(const std::vector<size_t>&)>& decode);

// The group's sources as (N, S_max) i32, padded with pad_id.
Tensor pad_sources(const Sources& sources, const std::vector<size_t>& group, int32_t pad_id);

// The most tokens (EOS included) an output of this source may have.
int64_t max_output_length(size_t source_len, const BeamSearchOptions& options,
                          const ModelConfig& config);

// log softmax(row) in double, row (V).
void log_softmax(const float* row, int64_t V, std::vector<double>& out);

}  // namespace weft::detail
