#pragma once
// Shared by the attention tests (probabilities form and flash form): one
// problem's shapes and masks, its random inputs, and its scores in double.

#include <cmath>
#include <limits>
#include <vector>

#include "ops_testing.h"

namespace weft::testing {

struct AttentionProblem {
  int64_t B, Tq, Tk, H, Dh;
  bool causal;
  std::vector<int32_t> valid;  // (B,Tk), empty for no padding mask
  double scale() const { return 1.0 / std::sqrt(static_cast<double>(Dh)); }
  // Offset of row (b, t) of head h in a (B,T,H,Dh) tensor.
  int64_t at(int64_t b, int64_t t, int64_t h, int64_t T) const {
    return ((b * T + t) * H + h) * Dh;
  }
};

// A (B,Tk) key mask: row b's first lengths[b] keys are valid.
inline std::vector<int32_t> padded(int64_t B, int64_t Tk, const std::vector<int64_t>& lengths) {
  std::vector<int32_t> valid(B * Tk, 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < lengths[b]; ++j) valid[b * Tk + j] = 1;
  }
  return valid;
}

struct AttentionInputs {
  Tensor q, k, v, key_valid, dout;
};

inline AttentionInputs make_attention_inputs(const AttentionProblem& p, DType dt, uint64_t seed) {
  AttentionInputs in{random_tensor({p.B, p.Tq, p.H, p.Dh}, dt, seed, -2.0, 2.0),
                     random_tensor({p.B, p.Tk, p.H, p.Dh}, dt, seed + 1, -2.0, 2.0),
                     random_tensor({p.B, p.Tk, p.H, p.Dh}, dt, seed + 2), Tensor(),
                     random_tensor({p.B, p.Tq, p.H, p.Dh}, dt, seed + 3)};
  if (!p.valid.empty()) in.key_valid = Tensor::from_vector(p.valid, {p.B, p.Tk});
  return in;
}

// Query i's scaled scores scale · q·k over every key of head h in batch b,
// −inf where the key is hidden (causal or padding), in double.
inline std::vector<double> scores_of(const AttentionProblem& p, const std::vector<double>& q,
                                     const std::vector<double>& k, int64_t b, int64_t h,
                                     int64_t i) {
  std::vector<double> s(p.Tk, -std::numeric_limits<double>::infinity());
  for (int64_t j = 0; j < p.Tk; ++j) {
    if (p.causal && j > i + (p.Tk - p.Tq)) continue;
    if (!p.valid.empty() && p.valid[b * p.Tk + j] == 0) continue;
    double dotqk = 0.0;
    for (int64_t c = 0; c < p.Dh; ++c)
      dotqk += q[p.at(b, i, h, p.Tq) + c] * k[p.at(b, j, h, p.Tk) + c];
    s[j] = p.scale() * dotqk;
  }
  return s;
}

}  // namespace weft::testing
