#include "weft/inference/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "inference/python_text.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using detail::whitespace_at;

// Python's str.rstrip(): trailing whitespace removed.
std::string rstrip(const std::string& s) {
  size_t end = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t w = whitespace_at(s, i);
    i += w > 0 ? w : 1;
    if (w == 0) end = i;
  }
  return s.substr(0, end);
}

// Python's str.replace: every non-overlapping occurrence, left to right.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos).append(to);
  }
  return out.append(s, pos, std::string::npos);
}

bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_period_or_comma(unsigned char c) {
  return c == '.' || c == ',';
}

// 13a's first rule, [\{-\~\[-\` -\&\(-\+\:-\@\/]: symbols set apart by spaces.
bool is_split_symbol(unsigned char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// re.sub of a two-character pattern (first, second) -> `emit`, scanning left
// to right without overlaps as Python does. Bytes serve for code points: the
// patterns' classes are ASCII or negated ASCII, so a multi-byte character
// matches or not exactly as its first and last bytes do.
template <typename First, typename Second, typename Emit>
std::string substitute_pairs(const std::string& s, First first, Second second, Emit emit) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char a = s[i];
    if (i + 1 < s.size() && first(a) && second(static_cast<unsigned char>(s[i + 1]))) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> tokenize_13a(const std::string& raw) {
  std::string line = replace_all(raw, "<skipped>", "");
  line = replace_all(line, "-\n", "");
  line = replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    line = replace_all(line, "&quot;", "\"");
    line = replace_all(line, "&amp;", "&");
    line = replace_all(line, "&lt;", "<");
    line = replace_all(line, "&gt;", ">");
  }
  std::string spaced = " ";
  for (unsigned char c : line) {
    if (is_split_symbol(c)) {
      spaced.append({' ', static_cast<char>(c), ' '});
    } else {
      spaced.push_back(static_cast<char>(c));
    }
  }
  spaced.push_back(' ');
  const auto not_digit = [](unsigned char c) { return !is_digit(c); };
  // Period and comma apart unless preceded by a digit, then unless followed by one.
  spaced =
      substitute_pairs(spaced, not_digit, is_period_or_comma, [](std::string& o, char a, char b) {
        o.append({a, ' ', b, ' '});
      });
  spaced =
      substitute_pairs(spaced, is_period_or_comma, not_digit, [](std::string& o, char a, char b) {
        o.append({' ', a, ' ', b});
      });
  // A dash after a digit is a token.
  spaced = substitute_pairs(
      spaced, is_digit, [](unsigned char c) { return c == '-'; },
      [](std::string& o, char a, char b) {
        o.append({a, ' ', b, ' '});
      });

  std::vector<std::string> tokens;
  std::string current;
  for (size_t i = 0; i < spaced.size();) {
    const size_t w = whitespace_at(spaced, i);
    if (w == 0) {
      current.push_back(spaced[i++]);
      continue;
    }
    if (!current.empty()) tokens.push_back(std::move(current));
    current.clear();
    i += w;
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

namespace {

constexpr int kOrder = 4;
using NgramCounts = std::unordered_map<std::string, int64_t>;

// Every n-gram of orders 1..4, as its tokens joined by a space (13a tokens
// hold no whitespace).
NgramCounts count_ngrams(const std::vector<std::string>& tokens) {
  NgramCounts counts;
  for (size_t n = 1; n <= kOrder; ++n) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      std::string key = tokens[i];
      for (size_t k = i + 1; k < i + n; ++k) key.append(" ").append(tokens[k]);
      ++counts[key];
    }
  }
  return counts;
}

size_t order_of(const std::string& ngram) {
  return static_cast<size_t>(std::count(ngram.begin(), ngram.end(), ' ')) + 1;
}

}  // namespace

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams) {
  WEFT_CHECK(!reference_streams.empty(), "BLEU: no reference stream given");
  for (size_t r = 0; r < reference_streams.size(); ++r) {
    WEFT_CHECK(reference_streams[r].size() == hypotheses.size(), "BLEU: reference stream ", r,
               " has ", reference_streams[r].size(), " lines but there are ", hypotheses.size(),
               " hypotheses");
  }
  BleuScore s;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    NgramCounts clip;  // per n-gram, its largest count in any one reference
    int64_t ref_len = -1, closest = -1;
    const std::vector<std::string> hyp = tokenize_13a(rstrip(hypotheses[i]));
    const int64_t hyp_len = static_cast<int64_t>(hyp.size());
    for (const auto& stream : reference_streams) {
      const std::vector<std::string> ref = tokenize_13a(rstrip(stream[i]));
      const int64_t len = static_cast<int64_t>(ref.size()), diff = std::llabs(hyp_len - len);
      if (closest < 0 || diff < closest || (diff == closest && len < ref_len)) {
        closest = diff;
        ref_len = len;
      }
      for (const auto& [ngram, count] : count_ngrams(ref)) {
        clip[ngram] = std::max(clip[ngram], count);
      }
    }
    for (const auto& [ngram, count] : count_ngrams(hyp)) {
      const size_t n = order_of(ngram) - 1;
      s.totals[n] += count;
      const auto hit = clip.find(ngram);
      if (hit != clip.end()) s.matches[n] += std::min(count, hit->second);
    }
    s.hypothesis_length += hyp_len;
    s.reference_length += ref_len;
  }

  const double c = static_cast<double>(s.hypothesis_length);
  const double r = static_cast<double>(s.reference_length);
  if (c < r) s.brevity_penalty = c > 0 ? std::exp(1.0 - r / c) : 0.0;
  if (std::all_of(s.matches.begin(), s.matches.end(), [](int64_t m) { return m == 0; })) return s;
  double smooth = 1.0;
  for (int n = 0; n < kOrder; ++n) {
    if (s.totals[n] == 0) break;  // the remaining precisions stay 0
    if (s.matches[n] == 0) {
      smooth *= 2.0;
      s.precisions[n] = 100.0 / (smooth * static_cast<double>(s.totals[n]));
    } else {
      s.precisions[n] =
          100.0 * static_cast<double>(s.matches[n]) / static_cast<double>(s.totals[n]);
    }
  }
  double log_sum = 0.0;  // sacreBLEU floors log(0) at −9999999999
  for (double p : s.precisions) log_sum += p == 0.0 ? -9999999999.0 : std::log(p);
  s.score = s.brevity_penalty * std::exp(log_sum / kOrder);
  return s;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references) {
  return corpus_bleu(hypotheses, std::vector<std::vector<std::string>>{references});
}

double exact_match(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references) {
  WEFT_CHECK(hypotheses.size() == references.size(), "exact match: ", hypotheses.size(),
             " hypotheses but ", references.size(), " references");
  if (hypotheses.empty()) return 0.0;
  const auto trim = [](const std::string& s) {
    const std::string right = rstrip(s);
    size_t begin = 0;
    while (begin < right.size() && whitespace_at(right, begin) > 0) {
      begin += whitespace_at(right, begin);
    }
    return right.substr(begin);
  };
  int64_t equal = 0;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    equal += trim(hypotheses[i]) == trim(references[i]);
  }
  return static_cast<double>(equal) / static_cast<double>(hypotheses.size());
}

}  // namespace weft
