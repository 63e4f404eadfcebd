#include "inference/translation_batch.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "weft/tensor/error.h"

namespace weft::detail {

std::vector<Hypothesis> decode_in_groups(
    const Sources& sources, const ModelConfig& config,
    const std::function<std::vector<Hypothesis>(const std::vector<size_t>&)>& decode) {
  std::map<size_t, std::vector<size_t>> by_length;  // one group unless padding is impossible
  for (size_t i = 0; i < sources.size(); ++i) {
    WEFT_CHECK(!sources[i].empty(), "translation: source ", i, " is empty");
    by_length[config.pad_id >= 0 ? 0 : sources[i].size()].push_back(i);
  }
  std::vector<Hypothesis> results(sources.size());
  for (const auto& [length, group] : by_length) {
    std::vector<Hypothesis> decoded = decode(group);
    for (size_t j = 0; j < group.size(); ++j) results[group[j]] = std::move(decoded[j]);
  }
  return results;
}

Tensor pad_sources(const Sources& sources, const std::vector<size_t>& group, int32_t pad_id) {
  size_t longest = 0;
  for (size_t i : group) longest = std::max(longest, sources[i].size());
  std::vector<int32_t> ids;
  for (size_t i : group) {
    ids.insert(ids.end(), sources[i].begin(), sources[i].end());
    ids.insert(ids.end(), longest - sources[i].size(), pad_id);
  }
  return Tensor::from_vector(ids,
                             {static_cast<int64_t>(group.size()), static_cast<int64_t>(longest)});
}

int64_t max_output_length(size_t source_len, const BeamSearchOptions& options,
                          const ModelConfig& config) {
  return std::min(static_cast<int64_t>(source_len) + options.max_extra_length, config.max_seq_len);
}

void log_softmax(const float* row, int64_t V, std::vector<double>& out) {
  out.resize(static_cast<size_t>(V));
  const double top = *std::max_element(row, row + V);
  double sum = 0.0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - top);
  const double log_sum = top + std::log(sum);
  for (int64_t v = 0; v < V; ++v) out[v] = row[v] - log_sum;
}

}  // namespace weft::detail
