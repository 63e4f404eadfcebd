// Vocabulary padding (ModelConfig::vocab_multiple) computes exactly the
// unpadded model's function: the same losses, the same gradients on the real
// rows, zero padding rows that never train, and logits over the real
// vocabulary only. Under tensor parallelism (any vocabulary, any tp) the
// layout suites of tests/train and tests/checkpoint cover it.

#include <gtest/gtest.h>

#include "support/tensor_testing.h"
#include "weft/inference/cached_decoding.h"
#include "weft/model/decoder_only.h"
#include "weft/model/factory.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

ModelConfig config_of(const std::string& preset, int64_t vocab_multiple) {
  ModelConfig c = model_preset(preset);
  c.vocab_size = 33;
  c.max_seq_len = 8;
  c.tie_embeddings = preset == "tiny-gpt";  // one family tied, one not
  if (preset != "tiny-gpt") {
    c.source_vocab_size = 21;  // a separate source table, padded too
    c.pad_id = 0;
    c.label_smoothing = 0.1;   // spread over the real vocabulary only
  }
  c.vocab_multiple = vocab_multiple;
  return c;
}

Batch batch_for(const ModelConfig& c) {
  Batch b;
  b.input = testing::random_ids({3, 7}, static_cast<int32_t>(c.vocab_size), 11);
  b.target = testing::random_ids({3, 7}, static_cast<int32_t>(c.vocab_size), 12);
  if (c.architecture == Architecture::EncoderDecoder) {
    b.source = testing::random_ids({3, 6}, static_cast<int32_t>(c.source_vocab_size) - 1, 13);
    for (int64_t i = 0; i < b.source.numel(); ++i) b.source.data<int32_t>()[i] += 1;
  }
  return b;
}

class VocabPadding : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabPadding, PaddedModelComputesTheUnpaddedFunction) {
  const ModelConfig plain_config = config_of(GetParam(), 1);
  const ModelConfig padded_config = config_of(GetParam(), 16);  // 33 -> 48, 21 -> 32
  auto plain = make_model(plain_config);
  auto padded = make_model(padded_config);
  initialize_parameters(plain->parameters(), 5);
  initialize_parameters(padded->parameters(), 5);

  const Batch batch = batch_for(plain_config);
  StepContext ctx;
  ctx.training = true;
  ctx.seed = 3;
  const LossSum a = plain->forward_backward(batch, ctx, 1.0);
  const LossSum b = padded->forward_backward(batch, ctx, 1.0);
  EXPECT_NEAR(b.sum, a.sum, 1e-6 * std::abs(a.sum));
  EXPECT_EQ(b.tokens, a.tokens);

  const std::vector<Parameter*> ps = plain->parameters(), qs = padded->parameters();
  ASSERT_EQ(ps.size(), qs.size());
  int padded_tables = 0;
  for (size_t i = 0; i < ps.size(); ++i) {
    const Parameter& p = *ps[i];
    const Parameter& q = *qs[i];
    ASSERT_EQ(p.name, q.name);
    EXPECT_EQ(p.padded_rows, 0) << p.name;
    if (q.padded_rows == 0) {
      EXPECT_TRUE(testing::all_close(q.value, p.value, 0.0, 0.0)) << q.name;
      EXPECT_TRUE(testing::all_close(q.grad, p.grad, 1e-6, 1e-9)) << q.name;
      continue;
    }
    ++padded_tables;
    const int64_t real = q.real_rows();
    ASSERT_EQ(real, p.full_shape[0]) << q.name;
    EXPECT_EQ(q.full_shape[0] % 16, 0) << q.name;
    // The real rows start as the unpadded table does and get its gradient.
    EXPECT_TRUE(testing::all_close(q.value.rows(0, real), p.value, 0.0, 0.0)) << q.name;
    EXPECT_TRUE(testing::all_close(q.grad.rows(0, real), p.grad, 1e-6, 1e-9)) << q.name;
    // The padding rows are zero and get no gradient.
    const Tensor pad_value = q.value.rows(real, q.full_shape[0]);
    const Tensor pad_grad = q.grad.rows(real, q.full_shape[0]);
    EXPECT_TRUE(testing::all_close(pad_value, Tensor::zeros(pad_value.shape()), 0.0, 0.0));
    EXPECT_TRUE(testing::all_close(pad_grad, Tensor::zeros(pad_grad.shape()), 0.0, 0.0));
  }
  // gpt: the tied table; encoder-decoder: source and target tables, lm_head.
  EXPECT_EQ(padded_tables, std::string(GetParam()) == "tiny-gpt" ? 1 : 3);
}

TEST(VocabPadding, InferenceLogitsCoverTheRealVocabularyOnly) {
  const ModelConfig plain_config = config_of("tiny-gpt", 1);
  auto plain = make_model(plain_config);
  auto padded = make_model(config_of("tiny-gpt", 16));
  initialize_parameters(plain->parameters(), 9);
  initialize_parameters(padded->parameters(), 9);
  const Tensor prompt = testing::random_ids({2, 5}, 33, 4);
  KVCache plain_cache, padded_cache;
  DecoderOnlyDecoding plain_decoding(dynamic_cast<DecoderOnly&>(*plain));
  DecoderOnlyDecoding padded_decoding(dynamic_cast<DecoderOnly&>(*padded));
  const Tensor a = plain_decoding.prefill(prompt, plain_cache).clone();
  const Tensor& b = padded_decoding.prefill(prompt, padded_cache);
  EXPECT_EQ(b.shape(), (Shape{2, 33}));  // sampling, argmax and beams never see padding
  EXPECT_TRUE(testing::all_close(b, a, 1e-6, 1e-7));
}

TEST(VocabPadding, TheTableIsAMultipleOfVocabMultipleTimesTp) {
  ModelConfig c = config_of("tiny-gpt", 128);
  EXPECT_EQ(c.padded_vocab(33, 1), 128);
  EXPECT_EQ(c.padded_vocab(33, 2), 256);
  EXPECT_EQ(c.padded_vocab(256, 2), 256);
  c.vocab_multiple = 1;
  EXPECT_EQ(c.padded_vocab(50257, 1), 50257);
  EXPECT_EQ(c.padded_vocab(50257, 4), 50260);
  c.vocab_multiple = 0;
  EXPECT_THROW(c.validate(), Error);
}

INSTANTIATE_TEST_SUITE_P(Families, VocabPadding, ::testing::Values("tiny-gpt", "tiny-encoder-decoder"),
                         [](const auto& info) {
                           return std::string(info.param) == "tiny-gpt" ? "Gpt" : "EncoderDecoder";
                         });

}  // namespace
}  // namespace weft
