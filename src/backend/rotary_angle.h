#pragma once
// The rotary position embedding's angle, once for the CPU and the CUDA
// kernels: pair i of a head of size dh turns at position p by
//   angle = p · inv_freq_i,   inv_freq_i = 1 / theta^(2i/dh)
// Every step is taken in T, as Hugging Face's Llama forms it: in f32 for f32
// and bf16 tensors (the exponent 2i/dh, the power, its reciprocal, the
// product with float(p)), so weft turns by the same f32 angles as
// transformers' LlamaForCausalLM; in double for f64 tensors. Each backend
// passes its pow: the CPU std::pow, CUDA powf or pow.

#include <cstdint>

#include "weft/tensor/host_device.h"

namespace weft::rotary {

// 1 / theta^(2i/dh) in T.
template <typename T, typename Pow>
WEFT_HOST_DEVICE inline T inverse_frequency(int64_t i, int64_t dh, double theta, Pow pow) {
  const T exponent = static_cast<T>(2 * i) / static_cast<T>(dh);
  return T(1) / pow(static_cast<T>(theta), exponent);
}

// The angle of pair i at position p, in T; f32 holds p exactly below 2^24.
template <typename T>
WEFT_HOST_DEVICE inline T angle(int64_t p, T inverse_frequency) {
  return static_cast<T>(p) * inverse_frequency;
}

}  // namespace weft::rotary
