#include "weft/inference/chrf.h"

#include <algorithm>
#include <unordered_map>

#include "inference/python_text.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using NgramCounts = std::unordered_map<std::u32string, int64_t>;

// Per order 1..6, the character n-grams of a line without its whitespace.
std::array<NgramCounts, kChrfCharOrder> count_char_ngrams(const std::string& line) {
  const std::u32string chars = detail::code_points_without_whitespace(line);
  std::array<NgramCounts, kChrfCharOrder> counts;
  for (size_t n = 1; n <= kChrfCharOrder; ++n) {
    for (size_t i = 0; i + n <= chars.size(); ++i) ++counts[n - 1][chars.substr(i, n)];
  }
  return counts;
}

// Statistics of one sentence (or, summed, of a corpus) against one reference.
struct Statistics {
  std::array<int64_t, kChrfCharOrder> hyp{}, ref{}, match{};
};

Statistics match_statistics(const std::array<NgramCounts, kChrfCharOrder>& hyp,
                            const std::array<NgramCounts, kChrfCharOrder>& ref) {
  Statistics s;
  for (int n = 0; n < kChrfCharOrder; ++n) {
    int64_t hyp_total = 0;
    for (const auto& [ngram, count] : hyp[n]) {
      hyp_total += count;
      const auto hit = ref[n].find(ngram);
      if (hit != ref[n].end()) s.match[n] += std::min(count, hit->second);
    }
    // A hypothesis n-gram counts only where the reference has n-grams of
    // this order at all.
    s.hyp[n] = ref[n].empty() ? 0 : hyp_total;
    for (const auto& entry : ref[n]) s.ref[n] += entry.second;
  }
  return s;
}

// The F-score of summed statistics over the effective orders, in sacreBLEU's
// order of operations (the last bits of the score depend on it).
double f_score(const Statistics& s) {
  constexpr double factor = kChrfBeta * kChrfBeta;
  double precision = 0.0, recall = 0.0;
  int effective_order = 0;
  for (int n = 0; n < kChrfCharOrder; ++n) {
    if (s.hyp[n] == 0 || s.ref[n] == 0) continue;
    precision += static_cast<double>(s.match[n]) / static_cast<double>(s.hyp[n]);
    recall += static_cast<double>(s.match[n]) / static_cast<double>(s.ref[n]);
    ++effective_order;
  }
  if (effective_order == 0) return 0.0;
  precision /= effective_order;
  recall /= effective_order;
  if (precision + recall == 0.0) return 0.0;
  double score = (1 + factor) * precision * recall;
  score /= factor * precision + recall;
  return 100 * score;
}

}  // namespace

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams) {
  WEFT_CHECK(!reference_streams.empty(), "chrF: no reference stream given");
  for (size_t r = 0; r < reference_streams.size(); ++r) {
    WEFT_CHECK(reference_streams[r].size() == hypotheses.size(), "chrF: reference stream ", r,
               " has ", reference_streams[r].size(), " lines but there are ", hypotheses.size(),
               " hypotheses");
  }
  Statistics corpus;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const auto hyp = count_char_ngrams(hypotheses[i]);
    Statistics best;
    double best_score = -1.0;  // the first reference of the best score serves
    for (const auto& stream : reference_streams) {
      const Statistics s = match_statistics(hyp, count_char_ngrams(stream[i]));
      const double score = f_score(s);
      if (score > best_score) {
        best_score = score;
        best = s;
      }
    }
    for (int n = 0; n < kChrfCharOrder; ++n) {
      corpus.hyp[n] += best.hyp[n];
      corpus.ref[n] += best.ref[n];
      corpus.match[n] += best.match[n];
    }
  }
  return {f_score(corpus), corpus.hyp, corpus.ref, corpus.match};
}

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references) {
  return corpus_chrf(hypotheses, std::vector<std::vector<std::string>>{references});
}

}  // namespace weft
