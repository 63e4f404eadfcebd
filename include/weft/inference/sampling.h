#pragma once
// Choosing the next token from a model's logits, on the host: temperature,
// top-k and top-p (nucleus) filtering and a seeded draw; and generate(), the
// decoder-only model's sampling loop over a KVCache.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "weft/model/decoder_only.h"

namespace weft {

struct SamplingOptions {
  double temperature = 1.0;  // logits are divided by it; 0: greedy (argmax)
  int64_t top_k = 0;         // keep the k most likely tokens; 0: all
  double top_p = 1.0;        // keep the fewest most likely tokens whose mass reaches top_p
  uint64_t seed = 0;         // the draws' stream: the same seed gives the same tokens
  // Throws weft::Error naming the option that is out of range.
  void validate() const;
};

// The index of the largest logit; the lowest index among equals.
int32_t argmax(std::span<const float> logits);

// The distribution a token is drawn from, over logits (V):
//   p = softmax(logits / temperature), restricted to the top_k most likely
//   tokens (ties: lower id first), renormalised; then to the shortest run of
//   them, most likely first, whose mass reaches top_p (a token is kept when
//   the mass of the tokens before it is below top_p), renormalised.
// 0 for every token filtered out. Temperature 0: all mass on argmax(logits).
std::vector<double> sampling_distribution(std::span<const float> logits,
                                          const SamplingOptions& options);

// Draws token ids from logits with one options' stream: the n-th draw uses
// the n-th uniform number of the stream keyed by the seed, so a run is
// reproducible on any machine.
class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  int32_t sample(std::span<const float> logits);

 private:
  SamplingOptions options_;
  uint64_t key_;
  uint64_t draws_ = 0;
};

// Continues `prompt` (token ids, at least one) with up to max_new_tokens
// tokens drawn by a Sampler, one KVCache step each. Returns the new tokens
// only; with eos_id, generation stops after that token is drawn (it ends the
// result). A prompt longer than model.max_seq_len is refused; when prompt and
// new tokens fill the context, the last max_seq_len/2 tokens are encoded
// again and generation goes on from there (a sliding window, as nanoGPT crops
// its context).
std::vector<int32_t> generate(DecoderOnly& model, std::span<const int32_t> prompt,
                              int64_t max_new_tokens, const SamplingOptions& options,
                              std::optional<int32_t> eos_id = std::nullopt);

}  // namespace weft
