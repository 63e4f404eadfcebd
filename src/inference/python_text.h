#pragma once
// UTF-8 text as Python's str sees it, for the metrics that must count as
// sacreBLEU does: code points, and whitespace as str.isspace() (which
// str.split() and str.rstrip() use).

#include <string>

namespace weft::detail {

// The code point starting at s[i] and its length in bytes. A byte that does
// not start a well-formed sequence is one character of its own.
struct CodePoint {
  char32_t value = 0;
  size_t bytes = 0;
};
CodePoint code_point_at(const std::string& s, size_t i);

// str.isspace() for one code point.
bool is_python_space(char32_t c);

// The byte length of the whitespace character at s[i], else 0.
size_t whitespace_at(const std::string& s, size_t i);

// ''.join(s.split()): the code points of `s` without its whitespace.
std::u32string code_points_without_whitespace(const std::string& s);

}  // namespace weft::detail
