#include "inference/python_text.h"

namespace weft::detail {

CodePoint code_point_at(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned lead = byte(i);
  size_t length = 1;
  char32_t value = lead;
  if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    value = lead & 0x07;
  } else if (lead >= 0xe0) {
    length = 3;
    value = lead & 0x0f;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    value = lead & 0x1f;
  }
  // A stray byte becomes U+DC80..U+DCFF, as Python's "surrogateescape"
  // decodes it: never whitespace, never equal to a real character.
  const CodePoint stray{lead < 0x80 ? lead : 0xdc00 + lead, 1};
  if (length == 1 || i + length > s.size()) return stray;
  for (size_t k = 1; k < length; ++k) {
    const unsigned next = byte(i + k);
    if ((next & 0xc0) != 0x80) return stray;
    value = (value << 6) | (next & 0x3f);
  }
  return {value, length};
}

bool is_python_space(char32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return true;
  if (c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a)) return true;
  return c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

size_t whitespace_at(const std::string& s, size_t i) {
  const CodePoint c = code_point_at(s, i);
  return is_python_space(c.value) ? c.bytes : 0;
}

std::u32string code_points_without_whitespace(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const CodePoint c = code_point_at(s, i);
    if (!is_python_space(c.value)) out.push_back(c.value);
    i += c.bytes;
  }
  return out;
}

}  // namespace weft::detail
