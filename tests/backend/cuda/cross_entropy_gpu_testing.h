#pragma once
// Shared by the GPU cross-entropy tests (whole-vocabulary and
// vocabulary-parallel): ignored targets, label smoothing, a gradient scale,
// large logits, vocabularies from 67 to GPT-2's 50257, and the ways the
// gradient is asked for.

#include <string>
#include <vector>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/tensor/error.h"

namespace weft::testing {

struct LossCase {
  int64_t n, vocab;
  double smoothing, grad_scale, logit_range;
  int64_t ignore_index;
};

inline std::string case_str(const LossCase& c) {
  return detail::concat("N ", c.n, ", V ", c.vocab, ", smoothing ", c.smoothing, ", grad_scale ",
                        c.grad_scale, ", logits in ±", c.logit_range, ", ignore ", c.ignore_index);
}

inline const std::vector<LossCase>& loss_cases() {
  static const std::vector<LossCase> all = {
      {37, 67, 0.0, 1.0, 3.0, -1},
      {64, 5003, 0.1, 1.0 / 64, 3.0, -1},
      {5, 50257, 0.0, 0.5, 3.0, -100},
      {130, 1000, 0.1, 1.0, 20.0, -1},  // the max must be subtracted
  };
  return all;
}

// Targets in [0, V), every 7th row ignored.
inline Tensor targets_for(const LossCase& c, uint64_t seed) {
  Tensor t = random_ids({c.n}, static_cast<int32_t>(c.vocab), seed);
  for (int64_t r = 3; r < c.n; r += 7) t.data<int32_t>()[r] = static_cast<int32_t>(c.ignore_index);
  return t;
}

// How the gradient is asked for.
enum class Grad { Written, AliasingLogits, None };
inline const char* grad_name(Grad g) {
  return g == Grad::Written ? "dlogits" : g == Grad::AliasingLogits ? "dlogits aliasing logits"
                                                                    : "no dlogits";
}

}  // namespace weft::testing
