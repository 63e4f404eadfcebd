// number_to_words: groups of three digits, each named below one thousand and
// followed by its scale.

#include <string>

#include "weft/data/builtin.h"

namespace weft {
namespace {

constexpr const char* kOnes[20] = {"zero",    "one",     "two",       "three",    "four",
                                   "five",    "six",     "seven",     "eight",    "nine",
                                   "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                   "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr const char* kTens[10] = {"",      "",      "twenty",  "thirty", "forty",
                                   "fifty", "sixty", "seventy", "eighty", "ninety"};
constexpr const char* kScales[7] = {"",         "thousand",    "million",    "billion",
                                    "trillion", "quadrillion", "quintillion"};

// 1 <= n <= 999.
std::string below_thousand(uint64_t n) {
  std::string words;
  if (n >= 100) {
    words = std::string(kOnes[n / 100]) + " hundred";
    n %= 100;
    if (n == 0) return words;
    words += ' ';
  }
  if (n < 20) return words + kOnes[n];
  words += kTens[n / 10];
  if (n % 10 != 0) (words += '-') += kOnes[n % 10];
  return words;
}

}  // namespace

std::string number_to_words(int64_t n) {
  if (n == 0) return "zero";
  // Through uint64_t, so that the most negative int64_t has a magnitude too.
  const uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string words;
  uint64_t rest = magnitude;
  for (int scale = 0; rest > 0; ++scale, rest /= 1000) {
    const uint64_t group = rest % 1000;
    if (group == 0) continue;
    std::string part = below_thousand(group);
    if (scale > 0) (part += ' ') += kScales[scale];
    words = words.empty() ? part : part + " " + words;
  }
  return n < 0 ? "minus " + words : words;
}

}  // namespace weft
