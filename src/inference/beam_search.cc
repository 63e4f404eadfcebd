#include "weft/inference/beam_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "inference/translation_batch.h"
#include "weft/inference/cached_decoding.h"
#include "weft/inference/sampling.h"
#include "weft/tensor/error.h"

namespace weft {

void BeamSearchOptions::validate(const ModelConfig& config) const {
  const int64_t V = config.vocab_size;
  WEFT_CHECK(bos_id >= 0 && bos_id < V, "translation: bos_id must be a token id below ", V,
             ", got ", bos_id);
  WEFT_CHECK(eos_id >= 0 && eos_id < V, "translation: eos_id must be a token id below ", V,
             ", got ", eos_id);
  WEFT_CHECK(beam_size >= 1, "translation: beam_size must be >= 1, got ", beam_size);
  WEFT_CHECK(std::isfinite(length_penalty) && length_penalty >= 0.0,
             "translation: length_penalty (alpha) must be >= 0, got ", length_penalty);
  WEFT_CHECK(max_extra_length >= 0, "translation: max_extra_length must be >= 0, got ",
             max_extra_length);
}

double length_penalty(int64_t length, double alpha) {
  return std::pow((5.0 + static_cast<double>(length)) / 6.0, alpha);
}

namespace {

// Rows of the decoder batch: slot j of the active sources owns rows
// [j·k, (j+1)·k), one per beam.
struct Beam {
  std::vector<int32_t> tokens;
  double log_prob = 0.0;
  int64_t parent = 0;  // the beam (within its source) this one extends
};

struct Candidate {
  double log_prob;
  int64_t beam;
  int32_t token;
};

struct SourceState {
  int64_t max_len = 0;
  std::vector<Beam> beams;  // live, at most k
  std::vector<Hypothesis> finished;
};

Hypothesis finish(const std::vector<int32_t>& prefix, int32_t eos, double log_prob, double alpha) {
  Hypothesis h{prefix, log_prob, 0.0};
  h.tokens.push_back(eos);
  h.score = log_prob / length_penalty(static_cast<int64_t>(h.tokens.size()), alpha);
  return h;
}

// The 2k best continuations of a source's live beams (all of them ending in
// EOS at the last position), best first; ties go to the lower beam, then token.
std::vector<Candidate> best_candidates(const SourceState& s, const float* logits, int64_t V,
                                       int64_t k, bool last, int32_t eos) {
  std::vector<Candidate> all;
  std::vector<double> log_p;
  for (size_t b = 0; b < s.beams.size(); ++b) {
    detail::log_softmax(logits + static_cast<int64_t>(b) * V, V, log_p);
    const double base = s.beams[b].log_prob;
    if (last) {
      all.push_back({base + log_p[eos], static_cast<int64_t>(b), eos});
      continue;
    }
    for (int64_t v = 0; v < V; ++v) {
      all.push_back({base + log_p[v], static_cast<int64_t>(b), static_cast<int32_t>(v)});
    }
  }
  const auto better = [](const Candidate& a, const Candidate& b) {
    if (a.log_prob != b.log_prob) return a.log_prob > b.log_prob;
    return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
  };
  const size_t n = last ? all.size() : std::min(all.size(), static_cast<size_t>(2 * k));
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
  all.resize(n);
  return all;
}

bool worse(const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; }

// Adds `h` to the finished hypotheses, keeping the k best by score.
void keep_best(std::vector<Hypothesis>& finished, Hypothesis h, int64_t k) {
  finished.push_back(std::move(h));
  if (static_cast<int64_t>(finished.size()) > k) {
    finished.erase(std::min_element(finished.begin(), finished.end(), worse));
  }
}

// One step for one source: finished hypotheses and the next live beams.
// Returns true when the source is done: at the last position, with no live
// beam, or with k finished hypotheses none of which the best live beam
// would beat if it ended now (Hugging Face's rule). Stopping at the first k
// finished instead lets a confident model's improbable early EOS
// candidates, which enter the top k while the live alternatives are worse
// still, fill the list before the right translation ends.
bool advance(SourceState& s, const std::vector<Candidate>& top, int64_t k, bool last,
             const BeamSearchOptions& o) {
  std::vector<Beam> next;
  for (size_t rank = 0; rank < top.size(); ++rank) {
    const Candidate& c = top[rank];
    const Beam& from = s.beams[c.beam];
    if (c.token == o.eos_id) {
      if (static_cast<int64_t>(rank) < k || last) {
        keep_best(s.finished, finish(from.tokens, o.eos_id, c.log_prob, o.length_penalty), k);
      }
    } else if (static_cast<int64_t>(next.size()) < k) {
      Beam beam{from.tokens, c.log_prob, c.beam};
      beam.tokens.push_back(c.token);
      next.push_back(std::move(beam));
    }
  }
  s.beams = std::move(next);
  if (last || s.beams.empty()) return true;
  if (static_cast<int64_t>(s.finished.size()) < k) return false;
  // The live beams are in candidate order: the first has the best log-prob,
  // and all have the same length.
  const Beam& best = s.beams.front();
  const double best_live =
      best.log_prob /
      length_penalty(static_cast<int64_t>(best.tokens.size()) + 1, o.length_penalty);
  return std::min_element(s.finished.begin(), s.finished.end(), worse)->score >= best_live;
}

Hypothesis best_of(const std::vector<Hypothesis>& finished) {
  return *std::max_element(finished.begin(), finished.end(), worse);
}

std::vector<Hypothesis> beam_search_group(EncoderDecoderDecoding& decoding,
                                          const ModelConfig& config, const detail::Sources& sources,
                                          const std::vector<size_t>& group,
                                          const BeamSearchOptions& o) {
  const int64_t k = o.beam_size, N = static_cast<int64_t>(group.size()), V = config.vocab_size;
  std::vector<SourceState> states(group.size());
  int64_t capacity = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    states[i].max_len = detail::max_output_length(sources[group[i]].size(), o, config);
    states[i].beams.push_back(Beam{});
    capacity = std::max(capacity, states[i].max_len);
  }
  KVCache cache(capacity);
  decoding.encode(detail::pad_sources(sources, group, config.pad_id), cache);
  std::vector<int32_t> rows;  // every source's encoding copied to its k beams
  for (int64_t i = 0; i < N; ++i) rows.insert(rows.end(), k, static_cast<int32_t>(i));
  cache.reorder(Tensor::from_vector(rows, {N * k}));

  std::vector<int64_t> active(group.size());  // sources still decoding, by slot
  std::iota(active.begin(), active.end(), 0);
  std::vector<int32_t> ids(static_cast<size_t>(N * k), o.bos_id);
  for (int64_t length = 1; !active.empty(); ++length) {
    const int64_t R = static_cast<int64_t>(active.size()) * k;
    const std::vector<float> logits =
        decoding.decode_step(Tensor::from_vector(ids, {R, 1}), cache).to_float_vector();
    std::vector<int64_t> still;
    rows.clear();
    ids.clear();
    for (size_t j = 0; j < active.size(); ++j) {
      SourceState& s = states[active[j]];
      const bool last = length == s.max_len;
      const float* own = logits.data() + static_cast<int64_t>(j) * k * V;
      if (advance(s, best_candidates(s, own, V, k, last, o.eos_id), k, last, o)) continue;
      still.push_back(active[j]);
      for (int64_t b = 0; b < k; ++b) {  // rows past the live beams idle on beam 0's state
        const bool live = b < static_cast<int64_t>(s.beams.size());
        rows.push_back(
            static_cast<int32_t>(static_cast<int64_t>(j) * k + (live ? s.beams[b].parent : 0)));
        ids.push_back(live ? s.beams[b].tokens.back() : o.eos_id);
      }
    }
    active = std::move(still);
    if (!active.empty()) {
      cache.reorder(Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}));
    }
  }
  std::vector<Hypothesis> out;
  for (const SourceState& s : states) out.push_back(best_of(s.finished));
  return out;
}

std::vector<Hypothesis> greedy_group(EncoderDecoderDecoding& decoding, const ModelConfig& config,
                                     const detail::Sources& sources,
                                     const std::vector<size_t>& group, const BeamSearchOptions& o) {
  const int64_t N = static_cast<int64_t>(group.size()), V = config.vocab_size;
  std::vector<Hypothesis> out(group.size());
  std::vector<int64_t> max_len(group.size());
  int64_t capacity = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    max_len[i] = detail::max_output_length(sources[group[i]].size(), o, config);
    capacity = std::max(capacity, max_len[i]);
  }
  KVCache cache(capacity);
  decoding.encode(detail::pad_sources(sources, group, config.pad_id), cache);
  std::vector<int64_t> active(group.size());
  std::iota(active.begin(), active.end(), 0);
  std::vector<int32_t> ids(static_cast<size_t>(N), o.bos_id), rows;
  std::vector<double> log_p;
  for (int64_t length = 1; !active.empty(); ++length) {
    const int64_t R = static_cast<int64_t>(active.size());
    const std::vector<float> logits =
        decoding.decode_step(Tensor::from_vector(ids, {R, 1}), cache).to_float_vector();
    std::vector<int64_t> still;
    rows.clear();
    ids.clear();
    for (int64_t j = 0; j < R; ++j) {
      Hypothesis& h = out[active[j]];
      const std::span<const float> row(logits.data() + j * V, static_cast<size_t>(V));
      const int32_t token = length == max_len[active[j]] ? o.eos_id : argmax(row);
      detail::log_softmax(row.data(), V, log_p);
      h.log_prob += log_p[token];
      h.tokens.push_back(token);
      if (token == o.eos_id) {
        h.score = h.log_prob / length_penalty(length, o.length_penalty);
        continue;
      }
      still.push_back(active[j]);
      rows.push_back(static_cast<int32_t>(j));
      ids.push_back(token);
    }
    if (still.size() < active.size() && !still.empty()) {
      cache.reorder(Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}));
    }
    active = std::move(still);
  }
  return out;
}

// Each group of sources searched by `search_group`, one decoding (and its
// buffers) serving every group.
template <typename SearchGroup>
std::vector<Hypothesis> search_in_groups(EncoderDecoder& model,
                                         const std::vector<std::vector<int32_t>>& sources,
                                         const BeamSearchOptions& options,
                                         SearchGroup search_group) {
  options.validate(model.config());
  EncoderDecoderDecoding decoding(model);
  return detail::decode_in_groups(sources, model.config(), [&](const std::vector<size_t>& group) {
    return search_group(decoding, model.config(), sources, group, options);
  });
}

}  // namespace

std::vector<Hypothesis> beam_search(EncoderDecoder& model,
                                    const std::vector<std::vector<int32_t>>& sources,
                                    const BeamSearchOptions& options) {
  return search_in_groups(model, sources, options, beam_search_group);
}

std::vector<Hypothesis> greedy_search(EncoderDecoder& model,
                                      const std::vector<std::vector<int32_t>>& sources,
                                      const BeamSearchOptions& options) {
  return search_in_groups(model, sources, options, greedy_group);
}

}  // namespace weft
