#pragma once
// Translation with an encoder-decoder: beam search as in the 2017 paper
// (beam size k, length penalty α from GNMT, output up to source length + 50)
// and greedy decoding, over a batch of sources, with a KVCache.

#include <cstdint>
#include <vector>

#include "weft/model/encoder_decoder.h"

namespace weft {

struct BeamSearchOptions {
  int32_t bos_id = -1;            // starts every target; required
  int32_t eos_id = -1;            // ends a hypothesis; required
  int64_t beam_size = 4;          // k; 1 is greedy decoding
  double length_penalty = 0.6;    // α of lp(Y) = ((5 + |Y|) / 6)^α; 0: raw log-probability
  int64_t max_extra_length = 50;  // at most source length + this many tokens (EOS included),
                                  // and never more than model.max_seq_len
  // Throws weft::Error naming the option that is out of range for `config`.
  void validate(const ModelConfig& config) const;
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // the output, without BOS; always ends with EOS
  double log_prob = 0.0;        // Σ log p(token | source, earlier tokens), EOS included
  double score = 0.0;           // log_prob / lp(|tokens|): what the search ranks by
};

// GNMT's length penalty lp(Y) = ((5 + length) / 6)^alpha.
double length_penalty(int64_t length, double alpha);

// The most likely output for each source (ids without BOS/EOS conventions
// imposed: passed to the encoder as given; without padding; any lengths).
// As fairseq: each step keeps the k best continuations of the live beams; a
// continuation ending in EOS that ranks among the k best is finished; a
// source is done when k hypotheses are finished, and at its maximum length
// every live beam is ended with EOS. The best finished hypothesis by score
// is returned. With k = 1 this is exactly greedy_search.
std::vector<Hypothesis> beam_search(EncoderDecoder& model,
                                    const std::vector<std::vector<int32_t>>& sources,
                                    const BeamSearchOptions& options);

// Greedy decoding: the argmax token at each step, EOS forced at the maximum
// length (options.beam_size is ignored).
std::vector<Hypothesis> greedy_search(EncoderDecoder& model,
                                      const std::vector<std::vector<int32_t>>& sources,
                                      const BeamSearchOptions& options);

}  // namespace weft
