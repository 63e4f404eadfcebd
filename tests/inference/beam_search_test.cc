// Beam search and greedy search for the encoder-decoder: beam 1 is greedy,
// a wider beam scores at least as well, an exhaustive beam finds the best
// output a brute-force enumeration finds, and every hypothesis ends at EOS
// within its maximum length.

#include "weft/inference/beam_search.h"

#include <cmath>
#include <functional>

#include "inference_testing.h"
#include "weft/inference/sampling.h"

namespace weft::testing {
namespace {

using Ids = std::vector<int32_t>;
constexpr int32_t kPad = 0, kBos = 1, kEos = 2;

ModelConfig translator_config(int64_t vocab, int64_t max_seq_len) {
  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.vocab_size = vocab, c.max_seq_len = max_seq_len, c.pad_id = kPad;
  c.init_std = 0.4;  // peaky distributions, so that choices matter
  return c;
}

BeamSearchOptions search(int64_t beam, double alpha, int64_t extra = 50) {
  BeamSearchOptions o;
  o.bos_id = kBos, o.eos_id = kEos, o.beam_size = beam, o.length_penalty = alpha;
  o.max_extra_length = extra;
  return o;
}

const std::vector<Ids> kSources = {{5, 6, 7}, {8}, {9, 10, 11, 12, 13}, {3, 3, 4, 5}, {14, 7}};

EncoderDecoder& as_translator(std::unique_ptr<Model>& m) {
  return dynamic_cast<EncoderDecoder&>(*m);
}

// Ends with EOS, nowhere else, within max_len tokens.
void expect_well_formed(const Hypothesis& h, int64_t max_len) {
  ASSERT_FALSE(h.tokens.empty());
  EXPECT_EQ(h.tokens.back(), kEos);
  EXPECT_EQ(std::count(h.tokens.begin(), h.tokens.end(), kEos), 1);
  EXPECT_LE(static_cast<int64_t>(h.tokens.size()), max_len);
}

TEST(LengthPenalty, FollowsGnmt) {
  EXPECT_DOUBLE_EQ(length_penalty(1, 0.6), 1.0);
  EXPECT_DOUBLE_EQ(length_penalty(7, 0.6), std::pow(2.0, 0.6));
  EXPECT_DOUBLE_EQ(length_penalty(12, 0.0), 1.0);
}

TEST(BeamSearch, BeamOneIsGreedy) {
  auto model = tiny_model(translator_config(17, 24), 1);
  for (double alpha : {0.0, 0.6, 1.0}) {
    const std::vector<Hypothesis> greedy =
        greedy_search(as_translator(model), kSources, search(1, alpha));
    const std::vector<Hypothesis> beam =
        beam_search(as_translator(model), kSources, search(1, alpha));
    ASSERT_EQ(beam.size(), kSources.size());
    for (size_t i = 0; i < kSources.size(); ++i) {
      EXPECT_EQ(beam[i].tokens, greedy[i].tokens) << "source " << i << " alpha " << alpha;
      EXPECT_DOUBLE_EQ(beam[i].log_prob, greedy[i].log_prob);
      EXPECT_DOUBLE_EQ(beam[i].score, greedy[i].score);
    }
  }
}

TEST(BeamSearch, WiderBeamsScoreAtLeastAsWellAsGreedy) {
  int64_t better = 0;
  for (uint64_t seed : {2, 3, 4}) {
    auto model = tiny_model(translator_config(17, 24), seed);
    const std::vector<Hypothesis> greedy =
        greedy_search(as_translator(model), kSources, search(1, 0.6));
    const std::vector<Hypothesis> beam =
        beam_search(as_translator(model), kSources, search(4, 0.6));
    for (size_t i = 0; i < kSources.size(); ++i) {
      // Beam rows and the greedy row are decoded in batches of different
      // shapes, so the same hypothesis can score differently in the last
      // f32 bits: 1e-5 relative is f32 rounding, not a worse hypothesis.
      const double rounding = 1e-5 * std::abs(greedy[i].score);
      EXPECT_GE(beam[i].score, greedy[i].score - rounding) << "seed " << seed << " source " << i;
      better += beam[i].score > greedy[i].score + rounding;
      expect_well_formed(beam[i], static_cast<int64_t>(kSources[i].size()) + 50);
    }
  }
  EXPECT_GT(better, 0) << "the beam never found anything greedy did not: a weak test";
}

// A confident model (large weights): its improbable early EOS candidates
// enter the top k while the live alternatives are worse still. A beam that
// stopped at its first k finished hypotheses returned one of those and
// scored below greedy search, as the numbers translator did at beam 4.
TEST(BeamSearch, AConfidentModelsEarlyEndsDoNotStopTheBeam) {
  for (uint64_t seed : {2, 3, 4, 5, 6, 7}) {
    ModelConfig config = translator_config(17, 24);
    config.init_std = 2.0;
    auto model = tiny_model(config, seed);
    const std::vector<Hypothesis> greedy =
        greedy_search(as_translator(model), kSources, search(1, 0.6));
    for (int64_t beam : {2, 4}) {
      const std::vector<Hypothesis> found =
          beam_search(as_translator(model), kSources, search(beam, 0.6));
      for (size_t i = 0; i < kSources.size(); ++i) {
        const double rounding = 1e-5 * std::abs(greedy[i].score);
        EXPECT_GE(found[i].score, greedy[i].score - rounding)
            << "seed " << seed << ", beam " << beam << ", source " << i;
      }
    }
  }
}

// Σ log p of `output` (ending with EOS) given `source`, by one full forward.
double log_prob_of(Model& model, const Ids& source, const Ids& output) {
  Ids input = {kBos};
  input.insert(input.end(), output.begin(), output.end() - 1);
  const int64_t T = static_cast<int64_t>(input.size()), V = model.config().vocab_size;
  Batch b;
  b.source = Tensor::from_vector(source, {1, static_cast<int64_t>(source.size())});
  b.input = Tensor::from_vector(input, {1, T});
  b.target = b.input;
  model.forward(b, StepContext{});
  const std::vector<double> logits = model.logits().to_double_vector();
  double total = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    const double* row = logits.data() + t * V;
    double top = row[0], sum = 0.0;
    for (int64_t v = 0; v < V; ++v) top = std::max(top, row[v]);
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - top);
    total += row[output[t]] - top - std::log(sum);
  }
  return total;
}

TEST(BeamSearch, ExhaustiveBeamFindsTheBestOutput) {
  // Vocabulary 5 (pad, bos, eos, 3, 4) and at most 3 output tokens: 1 + 4 +
  // 16 outputs, all kept by a beam of 64.
  auto model = tiny_model(translator_config(5, 16), 5);
  const Ids source = {3, 4};
  const double alpha = 0.6;
  double best = -INFINITY;
  Ids best_output;
  std::function<void(Ids)> enumerate = [&](Ids prefix) {
    Ids ended = prefix;
    ended.push_back(kEos);
    const double score = log_prob_of(*model, source, ended) /
                         length_penalty(static_cast<int64_t>(ended.size()), alpha);
    if (score > best) best = score, best_output = ended;
    if (prefix.size() + 1 == 3) return;
    for (int32_t v : {0, 1, 3, 4}) {
      Ids longer = prefix;
      longer.push_back(v);
      enumerate(longer);
    }
  };
  enumerate({});
  const Hypothesis found = beam_search(as_translator(model), {source}, search(64, alpha, 1))[0];
  EXPECT_EQ(found.tokens, best_output);
  EXPECT_NEAR(found.score, best, 1e-5);
  EXPECT_NEAR(found.log_prob, log_prob_of(*model, source, found.tokens), 1e-5);
}

TEST(BeamSearch, MaximumLengthIsSourcePlusExtraCappedByTheContext) {
  auto model = tiny_model(translator_config(17, 9), 6);
  for (int64_t extra : {0, 1, 2, 50}) {
    const std::vector<Hypothesis> beam =
        beam_search(as_translator(model), kSources, search(3, 0.6, extra));
    const std::vector<Hypothesis> greedy =
        greedy_search(as_translator(model), kSources, search(1, 0.6, extra));
    for (size_t i = 0; i < kSources.size(); ++i) {
      const int64_t max_len = std::min<int64_t>(kSources[i].size() + extra, 9);
      SCOPED_TRACE("extra " + std::to_string(extra) + " source " + std::to_string(i));
      expect_well_formed(beam[i], max_len);
      expect_well_formed(greedy[i], max_len);
    }
  }
}

TEST(BeamSearch, ABatchDecodesAsEachSourceAlone) {
  for (int32_t pad : {kPad, -1}) {  // without a pad id, sources are grouped by length
    ModelConfig c = translator_config(17, 24);
    c.pad_id = pad;
    auto model = tiny_model(c, 7);
    const std::vector<Hypothesis> batch =
        beam_search(as_translator(model), kSources, search(3, 0.6));
    for (size_t i = 0; i < kSources.size(); ++i) {
      const Hypothesis alone = beam_search(as_translator(model), {kSources[i]}, search(3, 0.6))[0];
      EXPECT_EQ(batch[i].tokens, alone.tokens) << "pad " << pad << " source " << i;
      EXPECT_NEAR(batch[i].score, alone.score, 1e-5);
    }
  }
}

TEST(BeamSearch, RefusesBadOptionsAndSources) {
  auto model = tiny_model(translator_config(17, 24), 8);
  auto& t = as_translator(model);
  BeamSearchOptions no_bos = search(2, 0.6);
  no_bos.bos_id = -1;
  expect_refused([&] { beam_search(t, kSources, no_bos); }, "bos_id must be a token id below 17");
  BeamSearchOptions bad_eos = search(2, 0.6);
  bad_eos.eos_id = 17;
  expect_refused([&] { greedy_search(t, kSources, bad_eos); }, "eos_id must be a token id");
  expect_refused([&] { beam_search(t, kSources, search(0, 0.6)); }, "beam_size must be >= 1");
  expect_refused([&] { beam_search(t, kSources, search(2, -0.5)); }, "length_penalty");
  expect_refused([&] { beam_search(t, {{3}, {}}, search(2, 0.6)); }, "source 1 is empty");
  expect_refused([&] { beam_search(t, {Ids(25, 3)}, search(2, 0.6)); },
                 "model's context (model.max_seq_len) is 24");
}

}  // namespace
}  // namespace weft::testing
