// ModelConfig::activation_bytes per rank: the single-rank estimate by hand,
// and what tensor parallelism, sequence parallelism and each recompute mode
// take off it.

#include <gtest/gtest.h>

#include "weft/model/config.h"

namespace weft {
namespace {

// A one-layer GPT small enough to count by hand.
ModelConfig tiny_gpt() {
  ModelConfig c = model_preset("tiny-gpt");
  c.d_model = 4, c.n_heads = 2, c.d_ff = 8, c.n_layers = 1, c.vocab_size = 10;
  c.max_seq_len = 16;
  c.validate();
  return c;
}

TEST(ActivationEstimate, OneRankCountsEveryBlockValueByHand) {
  const ModelConfig c = tiny_gpt();
  // Per position: 12·d + 2·f + heads·T = 48 + 16 + 6; 3 positions; then
  // the logits and their gradient, 2·T·V = 60. f32.
  EXPECT_EQ(c.activation_bytes(1, 0, 3), (3 * 70 + 60) * 4);
  ActivationLayout layout;
  layout.tp = 2;
  // Heads' and units' values and logits halve, the 8·d replicated do not:
  // 3 · (32 + (16 + 16 + 6) / 2) + 60 / 2.
  EXPECT_EQ(c.activation_bytes(1, 0, 3, layout), (3 * (32 + 19) + 30) * 4);
  layout.sequence_parallel = true;  // the 8·d too
  EXPECT_EQ(c.activation_bytes(1, 0, 3, layout), (3 * (16 + 19) + 30) * 4);
  layout.drop_probabilities = true;  // selective: no heads·T
  EXPECT_EQ(c.activation_bytes(1, 0, 3, layout), (3 * (16 + 16) + 30) * 4);
  layout.keep_block_inputs = true;  // full: the block's input, and one block redone
  EXPECT_EQ(c.activation_bytes(1, 0, 3, layout), (3 * 2 + 3 * 32 + 30) * 4);
}

TEST(ActivationEstimate, EachOptionTakesOffGpt2sActivations) {
  const ModelConfig c = model_preset("gpt2-124m");
  const int64_t one = c.activation_bytes(8, 0, 1024);
  ActivationLayout layout;
  layout.tp = 2;
  const int64_t tp = c.activation_bytes(8, 0, 1024, layout);
  layout.sequence_parallel = true;
  const int64_t sp = c.activation_bytes(8, 0, 1024, layout);
  layout.drop_probabilities = true;
  const int64_t selective = c.activation_bytes(8, 0, 1024, layout);
  layout.keep_block_inputs = true;
  const int64_t full = c.activation_bytes(8, 0, 1024, layout);
  EXPECT_LT(tp, one);
  EXPECT_GT(tp, one / 2);  // the replicated values stay
  EXPECT_EQ(sp * 2, one);  // everything sharded: exactly half
  // Selective drops the probabilities: 12 heads x 1024 keys per position
  // and layer, half of them on each rank.
  EXPECT_EQ(sp - selective, int64_t{4} * 8 * 1024 * 12 * 12 * 1024 / 2);
  // Full keeps one block's values of twelve, and the logits.
  EXPECT_LT(full, selective / 2);
}

TEST(ActivationEstimate, AnEncoderDecoderCountsItsEncoderAndCrossAttention) {
  const ModelConfig c = model_preset("transformer-base");
  ActivationLayout layout;
  layout.tp = 4;
  layout.sequence_parallel = true;
  EXPECT_EQ(c.activation_bytes(16, 40, 30, layout) * 4, c.activation_bytes(16, 40, 30));
  layout.keep_block_inputs = true;
  EXPECT_LT(c.activation_bytes(16, 40, 30, layout), c.activation_bytes(16, 40, 30) / 8);
}

}  // namespace
}  // namespace weft
