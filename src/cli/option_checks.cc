#include "cli/option_checks.h"

#include <algorithm>

#include "weft/tensor/error.h"

namespace weft::cli {

bool Range::holds(double value) const {
  if (low && (low_open ? value <= *low : value < *low)) return false;
  if (high && (high_open ? value >= *high : value > *high)) return false;
  return true;
}

Range positive() {
  return {0.0, std::nullopt, true, false, "positive"};
}

Range at_least(double low) {
  return {low, std::nullopt, false, false, detail::concat(">= ", low)};
}

Range between(double low, double high) {
  return {low, high, false, false, detail::concat("in [", low, ", ", high, "]")};
}

Range below_one() {
  return {0.0, 1.0, false, true, "in [0, 1)"};
}

Range fraction() {
  return {0.0, 1.0, true, false, "in (0, 1]"};
}

bool Words::holds(const std::string& value) const {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Words one_of(std::vector<std::string> allowed) {
  std::string expected = list_words(allowed);
  return {std::move(allowed), std::move(expected)};
}

std::string list_words(const std::vector<std::string>& words, const std::string& quote) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += quote + words[i] + quote;
  }
  return out;
}

}  // namespace weft::cli
