// Sampling: the candidate sets top-k and top-p keep, temperature, seeded
// draws, and generate() against the full forward.

#include "weft/inference/sampling.h"

#include <cmath>

#include "inference_testing.h"

namespace weft::testing {
namespace {

// Logits whose softmax is exactly proportional to p.
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> out;
  for (double x : p) out.push_back(static_cast<float>(std::log(x)));
  return out;
}

// The ids with nonzero probability.
std::vector<int32_t> kept(const std::vector<double>& dist) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < dist.size(); ++i) {
    if (dist[i] > 0.0) out.push_back(static_cast<int32_t>(i));
  }
  return out;
}

SamplingOptions with(double temperature, int64_t top_k, double top_p, uint64_t seed = 0) {
  SamplingOptions o;
  o.temperature = temperature, o.top_k = top_k, o.top_p = top_p, o.seed = seed;
  return o;
}

using Ids = std::vector<int32_t>;

TEST(Argmax, FirstOfEqualMaxima) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(argmax(logits), 1);
}

TEST(SamplingDistribution, TopKKeepsTheKMostLikelyWithTiesToLowerIds) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 3, 1.0))), (Ids{1, 2, 3}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 2, 1.0))), (Ids{1, 3}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 1, 1.0))), (Ids{1}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 0, 1.0))), (Ids{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 99, 1.0))), (Ids{0, 1, 2, 3, 4, 5}));
  const std::vector<float> ties = {2.0f, 1.0f, 2.0f, 2.0f};
  EXPECT_EQ(kept(sampling_distribution(ties, with(1.0, 2, 1.0))), (Ids{0, 2}));

  // Renormalised softmax over the kept logits.
  const std::vector<double> p = sampling_distribution(logits, with(1.0, 3, 1.0));
  const double z = 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(p[1], std::exp(3.0) / z, 1e-12);
  EXPECT_NEAR(p[2], std::exp(2.0) / z, 1e-12);
}

TEST(SamplingDistribution, TopPKeepsTheShortestRunReachingP) {
  // p = 0.5, 0.25, 0.15, 0.1 in a shuffled order of ids.
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.1, 0.25});
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 0, 0.2))), (Ids{1}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 0, 0.7))), (Ids{1, 3}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 0, 0.76))), (Ids{0, 1, 3}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 0, 0.95))), (Ids{0, 1, 2, 3}));
  const std::vector<double> p = sampling_distribution(logits, with(1.0, 0, 0.7));
  EXPECT_NEAR(p[1], 0.5 / 0.75, 1e-7);
  EXPECT_NEAR(p[3], 0.25 / 0.75, 1e-7);

  // After top-k = 3 the masses are 0.5/0.9, 0.25/0.9, 0.15/0.9: the run
  // reaching 0.8 stops after two (0.833), the one reaching 0.85 takes three.
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 3, 0.8))), (Ids{1, 3}));
  EXPECT_EQ(kept(sampling_distribution(logits, with(1.0, 3, 0.85))), (Ids{0, 1, 3}));
}

TEST(SamplingDistribution, TemperatureScalesLogitsAndZeroIsGreedy) {
  const std::vector<float> logits = {0.3f, -1.2f, 2.0f, 0.9f};
  const std::vector<double> p = sampling_distribution(logits, with(2.5, 0, 1.0));
  double z = 0.0;
  for (float x : logits) z += std::exp(x / 2.5);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(p[i], std::exp(logits[i] / 2.5) / z, 1e-9);
  EXPECT_EQ(sampling_distribution(logits, with(0.0, 0, 1.0)), (std::vector<double>{0, 0, 1, 0}));

  Sampler greedy(with(0.0, 0, 1.0, 7));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(greedy.sample(logits), 2);
}

TEST(Sampler, DrawsFollowTheDistributionAndTheSeed) {
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.1, 0.25});
  Sampler a(with(1.0, 3, 1.0, 42)), b(with(1.0, 3, 1.0, 42)), c(with(1.0, 3, 1.0, 43));
  std::vector<int> counts(4, 0);
  int differ = 0;
  for (int i = 0; i < 20000; ++i) {
    const int32_t x = a.sample(logits);
    EXPECT_EQ(x, b.sample(logits));
    differ += x != c.sample(logits);
    ++counts[x];
  }
  EXPECT_EQ(counts[2], 0);  // filtered out by top-k
  EXPECT_NEAR(counts[1] / 20000.0, 0.5 / 0.9, 0.015);
  EXPECT_NEAR(counts[3] / 20000.0, 0.25 / 0.9, 0.015);
  EXPECT_NEAR(counts[0] / 20000.0, 0.15 / 0.9, 0.015);
  EXPECT_GT(differ, 1000);
}

TEST(Sampler, RefusesBadOptions) {
  expect_refused([] { Sampler s(with(-1.0, 0, 1.0)); }, "temperature must be >= 0");
  expect_refused([] { Sampler s(with(1.0, -2, 1.0)); }, "top_k must be >= 0");
  expect_refused([] { Sampler s(with(1.0, 0, 0.0)); }, "top_p must be in (0, 1]");
  expect_refused([] { Sampler s(with(1.0, 0, 1.5)); }, "top_p must be in (0, 1]");
}

ModelConfig gpt_config() {
  ModelConfig c = model_preset("tiny-gpt");
  c.vocab_size = 11, c.max_seq_len = 12, c.init_std = 0.3;  // peaky, so choices differ
  return c;
}

// Greedy continuation by full forwards over the growing sequence.
Ids greedy_by_full_forward(Model& model, Ids text, int64_t new_tokens) {
  Ids out;
  for (int64_t i = 0; i < new_tokens; ++i) {
    const int64_t T = static_cast<int64_t>(text.size());
    Batch b;
    b.input = Tensor::from_vector(text, {1, T});
    b.target = b.input;
    model.forward(b, StepContext{});
    const std::vector<float> all = model.logits().to_float_vector();
    const int64_t V = model.config().vocab_size;
    const int32_t next = argmax(std::span(all).subspan((T - 1) * V, V));
    out.push_back(next);
    text.push_back(next);
  }
  return out;
}

TEST(Generate, GreedyEqualsArgmaxOfTheFullForward) {
  auto model = tiny_model(gpt_config(), 1);
  auto& gpt = dynamic_cast<DecoderOnly&>(*model);
  const Ids prompt = {3, 7, 1};
  const Ids expected = greedy_by_full_forward(gpt, prompt, 9);  // fills the context of 12
  EXPECT_EQ(generate(gpt, prompt, 9, with(0.0, 0, 1.0)), expected);
}

TEST(Generate, SameSeedSameTokensAndStopsAtEos) {
  auto model = tiny_model(gpt_config(), 2);
  auto& gpt = dynamic_cast<DecoderOnly&>(*model);
  const Ids prompt = {4};
  const SamplingOptions o = with(1.0, 5, 0.9, 123);
  const Ids first = generate(gpt, prompt, 8, o);
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(generate(gpt, prompt, 8, o), first);
  EXPECT_NE(generate(gpt, prompt, 8, with(1.0, 5, 0.9, 124)), first);
  // EOS = the third token drawn: generation stops right after it.
  const Ids stopped = generate(gpt, prompt, 8, o, first[2]);
  const size_t at = std::find(first.begin(), first.end(), first[2]) - first.begin();
  EXPECT_EQ(stopped, Ids(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(at) + 1));
  EXPECT_TRUE(generate(gpt, prompt, 0, o).empty());
}

TEST(Generate, SlidesItsWindowPastTheContext) {
  auto model = tiny_model(gpt_config(), 3);  // context 12
  auto& gpt = dynamic_cast<DecoderOnly&>(*model);
  const Ids prompt = {1, 2, 3};
  const Ids long_run = generate(gpt, prompt, 30, with(0.0, 0, 1.0));
  ASSERT_EQ(long_run.size(), 30u);
  // 12 tokens fill the context; the 10th new token is drawn from all of them.
  const Ids in_context = greedy_by_full_forward(gpt, prompt, 10);
  EXPECT_EQ(Ids(long_run.begin(), long_run.begin() + 10), in_context);
  // The 11th continues from the last 6 tokens, encoded again at positions 0..5.
  const Ids window(long_run.begin() + 4, long_run.begin() + 10);
  EXPECT_EQ(long_run[10], greedy_by_full_forward(gpt, window, 1)[0]);
}

TEST(Generate, RefusesPromptsThatDoNotFit) {
  auto model = tiny_model(gpt_config(), 4);
  auto& gpt = dynamic_cast<DecoderOnly&>(*model);
  expect_refused([&] { generate(gpt, Ids{}, 3, SamplingOptions{}); }, "the prompt is empty");
  expect_refused([&] { generate(gpt, Ids(13, 1), 3, SamplingOptions{}); },
                 "the prompt has 13 tokens but the model's context (model.max_seq_len) is 12");
  expect_refused([&] { generate(gpt, Ids{1}, -1, SamplingOptions{}); }, "max_new_tokens");
}

}  // namespace
}  // namespace weft::testing
