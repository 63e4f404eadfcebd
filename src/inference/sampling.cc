#include "weft/inference/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "weft/inference/cached_decoding.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft {

void SamplingOptions::validate() const {
  WEFT_CHECK(std::isfinite(temperature) && temperature >= 0.0,
             "sampling: temperature must be >= 0 (0: greedy), got ", temperature);
  WEFT_CHECK(top_k >= 0, "sampling: top_k must be >= 0 (0: no limit), got ", top_k);
  WEFT_CHECK(top_p > 0.0 && top_p <= 1.0, "sampling: top_p must be in (0, 1] (1: no limit), got ",
             top_p);
}

int32_t argmax(std::span<const float> logits) {
  WEFT_CHECK(!logits.empty(), "sampling: no logits to choose from");
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<double> sampling_distribution(std::span<const float> logits,
                                          const SamplingOptions& options) {
  options.validate();
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<double> p(logits.size(), 0.0);
  if (options.temperature == 0.0) {
    p[argmax(logits)] = 1.0;
    return p;
  }
  // Token ids, most likely first (ties: lower id); only as much of the order
  // as the filters read is sorted.
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  const auto more_likely = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  int64_t kept = options.top_k > 0 ? std::min(options.top_k, V) : V;
  if (kept < V || options.top_p < 1.0) {
    std::partial_sort(order.begin(), order.begin() + kept, order.end(), more_likely);
  }
  const double top = logits[argmax(logits)] / options.temperature;  // exp never overflows
  double total = 0.0;
  for (int64_t i = 0; i < kept; ++i) {
    const int32_t id = order[i];
    p[id] = std::exp(logits[id] / options.temperature - top);
    total += p[id];
  }
  if (options.top_p < 1.0) {
    double before = 0.0;  // mass of the tokens more likely than order[n]
    int64_t n = 0;
    while (n < kept && before < options.top_p * total) before += p[order[n++]];
    for (int64_t i = n; i < kept; ++i) p[order[i]] = 0.0;
    kept = n;
    total = before;
  }
  for (int64_t i = 0; i < kept; ++i) p[order[i]] /= total;
  return p;
}

Sampler::Sampler(const SamplingOptions& options)
    : options_((options.validate(), options)),
      key_(rng::stream_key(options.seed, rng::hash_name("weft.sampling"), 0)) {}

int32_t Sampler::sample(std::span<const float> logits) {
  if (options_.temperature == 0.0) return argmax(logits);
  const std::vector<double> p = sampling_distribution(logits, options_);
  const double u = rng::uniform01_double(key_, draws_++);
  double cumulative = 0.0;
  int32_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) continue;
    cumulative += p[i];
    last = static_cast<int32_t>(i);
    if (u < cumulative) return last;
  }
  return last;  // u within rounding of 1
}

namespace {

Tensor row_of(std::span<const int32_t> ids) {
  return Tensor::from_vector(std::vector<int32_t>(ids.begin(), ids.end()),
                             {1, static_cast<int64_t>(ids.size())});
}

}  // namespace

std::vector<int32_t> generate(DecoderOnly& model, std::span<const int32_t> prompt,
                              int64_t max_new_tokens, const SamplingOptions& options,
                              std::optional<int32_t> eos_id) {
  const int64_t context = model.config().max_seq_len;
  WEFT_CHECK(!prompt.empty(), "generate: the prompt is empty; give at least one token (e.g. BOS)");
  WEFT_CHECK(static_cast<int64_t>(prompt.size()) <= context, "generate: the prompt has ",
             prompt.size(), " tokens but the model's context (model.max_seq_len) is ", context);
  WEFT_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got ", max_new_tokens);
  Sampler sampler(options);
  if (max_new_tokens == 0) return {};
  std::vector<int32_t> text(prompt.begin(), prompt.end());  // prompt, then the new tokens
  KVCache cache;
  DecoderOnlyDecoding decoding(model);
  const Tensor* logits = &decoding.prefill(row_of(prompt), cache);
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    const std::vector<float> host = logits->to_float_vector();
    const int32_t token = sampler.sample(host);
    text.push_back(token);
    if ((eos_id && token == *eos_id) || i + 1 == max_new_tokens) break;
    if (cache.length() == cache.capacity()) {  // context full: slide the window
      const int64_t keep = std::max<int64_t>(1, context / 2);
      logits = &decoding.prefill(row_of(std::span(text).last(static_cast<size_t>(keep))), cache);
    } else {
      logits = &decoding.decode_step(row_of(std::span(&text.back(), 1)), cache);
    }
  }
  return {text.begin() + static_cast<std::ptrdiff_t>(prompt.size()), text.end()};
}

}  // namespace weft
