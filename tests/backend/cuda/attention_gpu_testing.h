#pragma once
// Shared by the GPU attention tests (probabilities form and flash form): the
// problems, each with causal and padded masks, Tq != Tk, queries that see no
// key, head dimensions 64 and 16 and sequences longer than one tile, and
// their inputs on both sides.

#include <cmath>
#include <string>
#include <vector>

#include "gpu_testing.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft::testing {

struct AttentionCase {
  int64_t B, Tq, Tk, H, Dh;
  bool causal, padded;
};

inline std::string case_str(const AttentionCase& c) {
  return detail::concat("B ", c.B, ", Tq ", c.Tq, ", Tk ", c.Tk, ", H ", c.H, ", Dh ", c.Dh,
                        c.causal ? ", causal" : "", c.padded ? ", padded" : "");
}

inline const std::vector<AttentionCase>& attention_cases() {
  static const std::vector<AttentionCase> all = {
      {2, 17, 17, 3, 64, true, false},
      {2, 13, 29, 2, 64, false, true},
      {1, 5, 37, 4, 16, true, true},    // queries at the end of a key/value cache
      {3, 19, 7, 2, 16, true, true},    // Tq > Tk: the first 12 queries see no key
      {2, 130, 130, 1, 64, true, true},  // longer than one tile
      {2, 70, 45, 2, 16, false, false},
      {1, 1, 1, 1, 16, false, false},
      {2, 1024, 1024, 12, 64, true, false},  // GPT-2 124M's shape
      {1, 512, 512, 4, 128, true, false},    // head dim 128 (LLaMA-style models)
  };
  return all;
}

// (B,Tk) i32: about one key in four hidden, and the last sequence of a batch
// of three or more hidden entirely (its queries see no key at all).
inline Tensor key_valid_mask(const AttentionCase& c, uint64_t seed) {
  Tensor mask = Tensor::empty({c.B, c.Tk}, DType::I32);
  const uint64_t key = rng::stream_key(seed, 0x3a5c, 0);
  for (int64_t b = 0; b < c.B; ++b) {
    for (int64_t j = 0; j < c.Tk; ++j) {
      const bool hidden = (c.B >= 3 && b == c.B - 1) ||
                          rng::uniform01(key, static_cast<uint64_t>(b * c.Tk + j)) < 0.25f;
      mask.data<int32_t>()[b * c.Tk + j] = hidden ? 0 : 1;
    }
  }
  return mask;
}

// The inputs of one case: q, k, v, dout and the mask, on both sides.
struct AttentionOperands {
  Operand q, k, v, dout, key_valid;
  double scale;
};

inline AttentionOperands operands_for(const AttentionCase& c, DType dtype, Seeds& seeds) {
  AttentionOperands in;
  in.q = random_operand({c.B, c.Tq, c.H, c.Dh}, dtype, seeds.next(), -2.0, 2.0);
  in.k = random_operand({c.B, c.Tk, c.H, c.Dh}, dtype, seeds.next(), -2.0, 2.0);
  in.v = random_operand({c.B, c.Tk, c.H, c.Dh}, dtype, seeds.next());
  in.dout = random_operand({c.B, c.Tq, c.H, c.Dh}, dtype, seeds.next());
  if (c.padded) in.key_valid = ids_operand(key_valid_mask(c, seeds.next()));
  in.scale = 1.0 / std::sqrt(static_cast<double>(c.Dh));
  return in;
}

// A zero f64 tensor: a reference output.
inline Tensor ref_zeros(const Shape& shape) { return Tensor::zeros(shape, DType::F64); }

}  // namespace weft::testing
