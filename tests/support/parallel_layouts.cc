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

}  // namespace weft::testing
