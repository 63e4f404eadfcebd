// Properties of the models beyond gradients: causality, padding, parameter
// names and counts, and refusals of bad configs and batches.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

ModelConfig small(const std::string& preset) {
  ModelConfig c = model_preset(preset);
  c.vocab_size = 13;
  c.max_seq_len = 9;
  c.pad_id = 0;
  return c;
}

std::vector<double> logits_of(Model& model, const Batch& batch) {
  model.forward(batch, StepContext{});
  return model.logits().to_double_vector();
}

// Logits at positions [0, t) are unchanged and some at t change when the
// decoder input at position t changes.
void expect_causal(Model& model, Batch batch, int64_t t) {
  const int64_t T = batch.input.dim(1), V = model.config().vocab_size;
  const std::vector<double> before = logits_of(model, batch);
  Tensor changed = batch.input.clone();
  changed.data<int32_t>()[t] = changed.data<int32_t>()[t] % 12 + 1;  // row 0, position t
  batch.input = changed;
  const std::vector<double> after = logits_of(model, batch);
  for (int64_t i = 0; i < t * V; ++i) ASSERT_EQ(before[i], after[i]) << "position " << i / V;
  double change = 0;
  for (int64_t i = t * V; i < T * V; ++i) change += std::abs(before[i] - after[i]);
  EXPECT_GT(change, 1e-6);
}

TEST(Causality, DecoderOnlyFutureTokensChangeNoEarlierLogit) {
  auto model = make_model(small("tiny-gpt"));
  initialize_parameters(model->parameters(), 1);
  Batch b;
  b.input = testing::random_ids({2, 8}, 12, 3);
  for (int64_t i = 0; i < b.input.numel(); ++i) b.input.data<int32_t>()[i] += 1;  // no padding
  b.target = b.input.clone();
  for (int64_t t : {1, 4, 7}) expect_causal(*model, b, t);
}

TEST(Causality, EncoderDecoderFutureTargetsChangeNoEarlierLogit) {
  auto model = make_model(small("tiny-encoder-decoder"));
  initialize_parameters(model->parameters(), 2);
  Batch b;
  b.source = Tensor::from_vector(std::vector<int32_t>{5, 6, 7, 8, 9, 10}, {2, 3});
  b.input = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {2, 5});
  b.target = b.input.clone();
  for (int64_t t : {1, 3}) expect_causal(*model, b, t);
}

TEST(Padding, PaddedSourcePositionsChangeNothing) {
  ModelConfig c = small("tiny-encoder-decoder");
  auto model = make_model(c);
  initialize_parameters(model->parameters(), 3);
  Batch b;
  b.source = Tensor::from_vector(std::vector<int32_t>{5, 6, 7, 0, 0, 9, 10, 11, 12, 3}, {2, 5});
  b.input = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  b.target = b.input.clone();
  const std::vector<double> before = logits_of(*model, b);

  // Longer padding: the same sentence with more pad tokens after it.
  Batch longer = b;
  longer.source = Tensor::from_vector(
      std::vector<int32_t>{5, 6, 7, 0, 0, 0, 0, 9, 10, 11, 12, 3, 0, 0}, {2, 7});
  const std::vector<double> after = logits_of(*model, longer);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(before[i], after[i], 1e-5) << i;
}

TEST(Padding, PaddedTargetPositionsChangeNoRealPosition) {
  auto model = make_model(small("tiny-gpt"));
  initialize_parameters(model->parameters(), 4);
  Batch b;
  b.input = Tensor::from_vector(std::vector<int32_t>{3, 4, 5, 0, 0, 6, 7, 8, 9, 10}, {2, 5});
  b.target = Tensor::from_vector(std::vector<int32_t>{4, 5, 6, -1, -1, 7, 8, 9, 10, 11}, {2, 5});
  const LossSum full = model->forward(b, StepContext{});
  const std::vector<double> before = model->logits().to_double_vector();
  // Different tokens at the padded positions of row 0 (still padding to the loss).
  Batch other = b;
  other.input = Tensor::from_vector(std::vector<int32_t>{3, 4, 5, 9, 12, 6, 7, 8, 9, 10}, {2, 5});
  const LossSum changed = model->forward(other, StepContext{});
  const std::vector<double> after = model->logits().to_double_vector();
  EXPECT_EQ(full.tokens, 8);
  EXPECT_DOUBLE_EQ(full.sum, changed.sum);
  const int64_t V = 13;
  for (int64_t i = 0; i < 3 * V; ++i) EXPECT_EQ(before[i], after[i]);
}

TEST(Parameters, NamesAreUniqueAndCountMatchesConfig) {
  for (const char* preset : {"tiny-gpt", "tiny-encoder-decoder", "tiny-llama", "tiny-bert"}) {
    for (bool tied : {true, false}) {
      ModelConfig c = small(preset);
      if (c.encoder_only() && !tied) continue;  // BERT's decoder is the embedding
      c.tie_embeddings = tied;
      auto model = make_model(c);
      std::set<std::string> names;
      int64_t count = 0;
      for (Parameter* p : model->parameters()) {
        EXPECT_TRUE(names.insert(p->name).second) << "duplicate " << p->name;
        count += p->value.numel();
      }
      EXPECT_EQ(count, c.parameter_count()) << preset << " tied=" << tied;
    }
  }
}

TEST(Parameters, Gpt2SmallHasItsKnownSize) {
  ModelConfig c = model_preset("gpt2-124m");
  EXPECT_EQ(c.parameter_count(), 124439808);
}

// BERT-base's published 110M: transformers' BertForMaskedLM(BertConfig())
// holds 109,514,298 parameters (no pooler; the decoder tied to the word
// embeddings, its bias of 30522).
TEST(Parameters, BertBaseHasBertForMaskedLMsSize) {
  EXPECT_EQ(model_preset("bert-base").parameter_count(), 109514298);
}

// Per layer: q and o 768², k and v 768·256 (4 of 12 heads), gate, up and
// down 768·2048, two RMS gains; an untied 32000-row embedding and head.
TEST(Parameters, Llama124mHasItsShapesSize) {
  ModelConfig c = model_preset("llama-124m");
  const int64_t layer = 2 * 768 * 768 + 2 * 768 * 256 + 3 * 768 * 2048 + 2 * 768;
  EXPECT_EQ(c.parameter_count(), 12 * layer + 768 + 2 * 32000 * 768);
  EXPECT_NEAR(c.parameter_count() / 1e6, 124.0, 1.5);
  // The Shakespeare twins hold the same number of parameters within 0.1%.
  const double gpt = model_preset("gpt-shakespeare-char").parameter_count();
  EXPECT_NEAR(model_preset("llama-shakespeare-char").parameter_count() / gpt, 1.0, 1e-3);
}

TEST(Parameters, InitialisationFollowsGpt2) {
  ModelConfig c = small("tiny-gpt");
  c.d_model = 64, c.n_heads = 4, c.d_ff = 256, c.n_layers = 2;
  auto model = make_model(c);
  initialize_parameters(model->parameters(), 5);
  for (Parameter* p : model->parameters()) {
    const std::vector<double> v = p->value.to_double_vector();
    double sum = 0, sq = 0;
    for (double x : v) sum += x, sq += x * x;
    const double mean = sum / v.size(), stdev = std::sqrt(sq / v.size() - mean * mean);
    const bool is_bias = p->name.ends_with(".bias");
    const bool is_gain = p->name.find("norm.weight") != std::string::npos;
    if (is_bias) EXPECT_EQ(sq, 0.0) << p->name;
    else if (is_gain) EXPECT_EQ(mean, 1.0) << p->name;
    else if (p->name.ends_with("o.weight") || p->name.ends_with("fc2.weight"))
      EXPECT_NEAR(stdev, 0.02 / std::sqrt(4.0), 0.002) << p->name;
    else EXPECT_NEAR(stdev, 0.02, 0.002) << p->name;
    EXPECT_EQ(p->weight_decay, !is_bias && !is_gain) << p->name;
  }
}

TEST(Refusals, BadConfigNamesTheField) {
  ModelConfig c = small("tiny-gpt");
  c.n_heads = 3;  // 16 is not divisible by 3
  try {
    make_model(c);
    FAIL() << "accepted d_model 16 with 3 heads";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.n_heads"), std::string::npos) << e.what();
  }
  c = small("tiny-gpt");
  c.vocab_size = 0;
  EXPECT_THROW(make_model(c), Error);
  c = small("tiny-gpt");
  c.dropout = 1.0;
  EXPECT_THROW(make_model(c), Error);
  EXPECT_THROW(model_preset("gpt5"), Error);
}

TEST(Refusals, BadBatchNamesTheProblem) {
  auto model = make_model(small("tiny-gpt"));
  Batch b;
  b.input = Tensor::from_vector(std::vector<int32_t>{1, 2, 13}, {1, 3});  // 13 >= vocab
  b.target = Tensor::from_vector(std::vector<int32_t>{1, 2, 3}, {1, 3});
  try {
    model->forward(b, StepContext{});
    FAIL() << "accepted an id outside the vocabulary";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos) << e.what();
  }
  b.input = testing::random_ids({1, 10}, 13, 1);  // longer than max_seq_len 9
  b.target = b.input.clone();
  try {
    model->forward(b, StepContext{});
    FAIL() << "accepted a sequence longer than the context";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_seq_len"), std::string::npos) << e.what();
  }
  b.input = testing::random_ids({1, 3}, 13, 1);
  b.target = testing::random_ids({1, 4}, 13, 1);
  EXPECT_THROW(model->forward(b, StepContext{}), Error);
}

}  // namespace
}  // namespace weft
