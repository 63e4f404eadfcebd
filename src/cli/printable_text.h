#pragma once
// Messages quote what users gave: a config line, a JSON token, a file name.
// When that was binary, the bytes must not reach the terminal raw.

#include <string>
#include <string_view>

namespace weft::cli {

// `text` with control characters (other than newline and tab) and bytes that
// are not part of valid UTF-8 written as \xNN; valid UTF-8 ('é') is kept.
std::string printable_text(std::string_view text);

}  // namespace weft::cli
