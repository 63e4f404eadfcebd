#pragma once
// What the multi-rank suites share: a dp × tp layout and the tiny models
// whose heads and widths divide by 1, 2 and 4 and whose vocabularies (33 and
// 25 tokens) divide by no tp > 1, so every layout pads its tables.

#include <string>

#include "weft/model/config.h"

namespace weft::testing {

struct Layout {
  int dp = 1;
  int tp = 1;
};
std::string layout_name(const Layout& layout);  // "2x2": dp x tp

// "gpt" (untied output head, learned positions), "encoder-decoder" (tied,
// shared vocabulary, padding, label smoothing) or "llama" (RMS norms, rotary
// positions, SwiGLU, grouped-query attention, no biases) or "bert"
// (encoder-only: padding, segments, masked-LM head); all with dropout 0.1.
ModelConfig tiny_config(const std::string& family);
// The family's name in a test name: "Gpt", "EncoderDecoder", "Llama", "Bert".
std::string family_label(const std::string& family);

}  // namespace weft::testing
