#pragma once
// bfloat16 <-> float on the host: the top 16 bits of an IEEE float, rounded to
// nearest even.

#include <cstdint>
#include <cstring>

namespace weft {

inline float bf16_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Branch-free (a select, not a return), so loops over it vectorise.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x40u;  // NaN stays NaN
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// A stored element and the type its arithmetic runs in: itself, or f32 for
// bf16 (stored as its bits, rounded to nearest even on the way back).
// Loops templated on the stored type S read through Arith<S>::load and write
// through store, so one loop serves f32, f64, integers and bf16 (CPU
// kernels, the simulated communicator's sums).
template <typename S> struct Arith {
  using type = S;
  static S load(S x) { return x; }
  static S store(S x) { return x; }
};
template <> struct Arith<uint16_t> {
  using type = float;
  static float load(uint16_t x) { return bf16_to_float(x); }
  static uint16_t store(float x) { return float_to_bf16(x); }
};

}  // namespace weft
