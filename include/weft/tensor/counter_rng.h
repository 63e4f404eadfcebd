#pragma once
// A counter-based random generator: the value for element `index` of stream
// `key` is a pure function of both, so any rank or thread can draw any element
// without shared state, and a dropout mask or an initial weight does not
// depend on how the work is split. Usable in host and device code.

#include <cstdint>

#include "weft/tensor/host_device.h"

namespace weft::rng {

// splitmix64's finaliser: a bijection on 64 bits with full avalanche.
WEFT_HOST_DEVICE inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A stream key from a seed and two stream coordinates (e.g. step and site).
WEFT_HOST_DEVICE inline uint64_t stream_key(uint64_t seed, uint64_t a, uint64_t b) {
  return mix64(mix64(mix64(seed) ^ a) ^ b);
}

// 24 random bits: uniform01's numerator.
WEFT_HOST_DEVICE inline uint32_t uniform_bits24(uint64_t key, uint64_t index) {
  return static_cast<uint32_t>(mix64(key ^ mix64(index)) >> 40);
}

// Uniform in [0, 1) with 24 random bits: exact in float.
WEFT_HOST_DEVICE inline float uniform01(uint64_t key, uint64_t index) {
  return static_cast<float>(uniform_bits24(key, index)) * (1.0f / 16777216.0f);
}

// uniform01(key, i) >= p exactly when uniform_bits24(key, i) >= this, for p
// in [0, 1]: p·2^24 is exact in double, and the bits are integers. Dropout
// compares integers, which vectorises better than float against double.
WEFT_HOST_DEVICE inline uint32_t uniform_bits24_threshold(double p) {
  const double scaled = p * 16777216.0;
  const auto floor = static_cast<uint32_t>(scaled);
  return floor + (static_cast<double>(floor) < scaled ? 1u : 0u);
}

// Uniform in [0, 1) with 53 random bits, for initialisation in double.
WEFT_HOST_DEVICE inline double uniform01_double(uint64_t key, uint64_t index) {
  return static_cast<double>(mix64(key ^ mix64(index)) >> 11) * (1.0 / 9007199254740992.0);
}

// FNV-1a, for turning a parameter or site name into a stream coordinate.
inline uint64_t hash_name(const char* s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 0x100000001b3ull;
  return h;
}

}  // namespace weft::rng
