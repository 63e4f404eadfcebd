#pragma once
// Translation quality by character n-grams: corpus chrF2 computed exactly as
// sacreBLEU 2.x does by default (CHRF(), i.e. `sacrebleu hyp -r ref -m chrf`):
//   - characters are Unicode code points; whitespace is removed first;
//   - per sentence and order n = 1..6: the hypothesis' n-grams (counted as 0
//     when the reference has none of that order), the reference's, and the
//     matches (each hypothesis n-gram clipped by its count in the reference);
//     with several references the one giving the sentence the best chrF
//     serves;
//   - these statistics are summed over the corpus; precision and recall are
//     averaged over the orders both sides have n-grams of ("effective order",
//     no epsilon smoothing);
//   chrF = 100 · (1 + β²) · P · R / (β² · P + R), β = 2; 0 when P + R = 0.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace weft {

constexpr int kChrfCharOrder = 6;
constexpr int kChrfBeta = 2;

struct ChrfScore {
  double score = 0.0;  // 0..100
  // Per character order 1..6, summed over the corpus.
  std::array<int64_t, kChrfCharOrder> hypothesis_ngrams{};
  std::array<int64_t, kChrfCharOrder> reference_ngrams{};
  std::array<int64_t, kChrfCharOrder> matches{};
};

// One reference per hypothesis. Throws weft::Error when the counts differ.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references);
// Several reference streams, each with one line per hypothesis.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams);

}  // namespace weft
