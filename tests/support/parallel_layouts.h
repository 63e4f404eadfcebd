#pragma once
// What the multi-rank suites share: a dp × tp layout and the tiny models
// whose heads, widths and vocabularies divide by 1, 2 and 4.

#include <string>

#include "weft/model/config.h"

namespace weft::testing {

struct Layout {
  int dp = 1;
  int tp = 1;
};
std::string layout_name(const Layout& layout);  // "2x2": dp x tp

// "gpt" (untied output head, learned positions) or "encoder-decoder" (tied,
// shared vocabulary, padding, label smoothing); both with dropout 0.1.
ModelConfig tiny_config(const std::string& family);

}  // namespace weft::testing
