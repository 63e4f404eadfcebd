#include "cli/printable_text.h"

#include <cstdio>

namespace weft::cli {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (2 to 4), or 0.
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2, min = 0x80;
  else if (lead >= 0xe0 && lead <= 0xef) length = 3, min = 0x800;
  else if (lead >= 0xf0 && lead <= 0xf4) length = 4, min = 0x10000;
  else return 0;
  if (i + length > text.size()) return 0;
  unsigned code = lead & (0xff >> (length + 1));
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return 0;
  return length;
}

}  // namespace

std::string printable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (const size_t n = utf8_sequence(text, i)) {
        out.append(text.substr(i, n));
        i += n;
        continue;
      }
    } else if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if (c == '\n' || c == '\t') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
    out += escaped;
    ++i;
  }
  return out;
}

}  // namespace weft::cli
