#pragma once
// Translation quality as the field reports it: corpus BLEU-4 computed exactly
// as sacreBLEU 2.x does by default (BLEU(), i.e. `sacrebleu hyp -r ref`):
//   - each line right-stripped, then tokenised by mteval-v13a ("13a"), case kept;
//   - n-gram counts for n = 1..4, each hypothesis n-gram clipped by its largest
//     count in any one reference, matches and totals summed over the corpus;
//   - brevity penalty exp(1 − r/c) when the corpus' hypotheses (c tokens) are
//     shorter than its references (r: per sentence the reference length
//     closest to the hypothesis', the shorter on ties);
//   - "exp" smoothing: the k-th order with no match counts as 1/2^k matches;
//     no match at all gives 0;
//   BLEU = 100 · BP · exp(Σ_n log p_n / 4).
// And exact-match accuracy, the share of hypotheses equal to their reference.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace weft {

struct BleuScore {
  double score = 0.0;                  // 0..100
  std::array<double, 4> precisions{};  // p_1..p_4 in percent, smoothed as sacreBLEU
  std::array<int64_t, 4> matches{};    // clipped n-gram matches over the corpus
  std::array<int64_t, 4> totals{};     // hypothesis n-grams over the corpus
  double brevity_penalty = 1.0;
  int64_t hypothesis_length = 0;  // tokens, after 13a tokenisation
  int64_t reference_length = 0;
};

// The tokens of `line` under sacreBLEU's 13a tokeniser (UTF-8 in and out).
std::vector<std::string> tokenize_13a(const std::string& line);

// One reference per hypothesis. Throws weft::Error when the counts differ.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references);
// Several reference streams, each with one line per hypothesis (sacreBLEU's
// `refs` argument).
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams);

// The share (0..1) of hypotheses equal to their reference, ignoring leading
// and trailing whitespace; 0 for an empty corpus. Throws weft::Error when the
// counts differ.
double exact_match(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references);

}  // namespace weft
