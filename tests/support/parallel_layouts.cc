#include "support/parallel_layouts.h"

namespace weft::testing {

std::string layout_name(const Layout& l) {
  return std::to_string(l.dp) + "x" + std::to_string(l.tp);
}

ModelConfig tiny_config(const std::string& family) {
  ModelConfig c;
  if (family == "gpt") {
    c = model_preset("tiny-gpt");
    // Vocabularies that no tp > 1 divides: the tables are padded, per layout.
    c.vocab_size = 33;
    c.tie_embeddings = false;
  } else if (family == "llama") {
    // Grouped-query: 8 query heads over 4 key/value heads, which every tp of
    // the layouts divides.
    c = model_preset("tiny-llama");
    c.vocab_size = 33;
    c.n_kv_heads = 4;
  } else if (family == "bert") {
    // Padding keys hidden; id 1 is [SEP], so random ids give every row
    // segments of its own.
    c = model_preset("tiny-bert");
    c.vocab_size = 33;
    c.pad_id = 0;
    c.sep_id = 1;
  } else {
    c = model_preset("tiny-encoder-decoder");
    c.vocab_size = 25;
    c.n_encoder_layers = 2;
    c.label_smoothing = 0.1;
    c.pad_id = 0;
  }
  c.d_model = 32, c.n_heads = 8, c.d_ff = 64, c.n_layers = 2, c.max_seq_len = 16;
  c.dropout = 0.1;
  c.validate();
  return c;
}

std::string family_label(const std::string& family) {
  if (family == "gpt") return "Gpt";
  if (family == "llama") return "Llama";
  if (family == "bert") return "Bert";
  return "EncoderDecoder";
}

}  // namespace weft::testing
