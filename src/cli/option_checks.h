#pragma once
// What a key's value must be, said the way a refusal says it:
// "KEY must be <expected>, got VALUE". A check is any type with
// `bool holds(const T&) const` and `std::string expected`; these are the ones
// the option tables use.

#include <optional>
#include <string>
#include <vector>

namespace weft::cli {

// Every value: keys whose type says all (flags, seeds, paths).
struct Anything {
  std::string expected;
  template <typename T>
  bool holds(const T&) const {
    return true;
  }
};

// A numeric range, either end open, closed or absent. Integer keys are
// compared as doubles: the bounds the tables use are small and exact.
struct Range {
  std::optional<double> low, high;
  bool low_open = false, high_open = false;
  std::string expected;  // "positive", ">= 0", "in [0, 1)"
  bool holds(double value) const;
};

Range positive();                        // > 0
Range at_least(double low);              // >= low
Range between(double low, double high);  // [low, high]
Range below_one();                       // [0, 1): probabilities that must leave something
Range fraction();                        // (0, 1]: a share that cannot be nothing

// One of a few words ("auto, cpu or cuda").
struct Words {
  std::vector<std::string> allowed;
  std::string expected;
  bool holds(const std::string& value) const;
};

Words one_of(std::vector<std::string> allowed);

// "a, b or c"; each word wrapped in `quote` ("'a', 'b' or 'c'").
std::string list_words(const std::vector<std::string>& words, const std::string& quote = "");

}  // namespace weft::cli
