#pragma once
// GELU in its tanh form (as GPT-2), once for the CPU and the CUDA kernels:
//   gelu(x) = 0.5·x·(1 + tanh(u)) = x·σ(2u),   u = √(2/π)·(x + 0.044715·x³)
// written through the identity on the right, so it needs one exp and no tanh
// and a CPU loop over it vectorises. T is float or double; the constants are
// rounded from double to T. Each backend passes its exp: the CPU its
// vectorisable exp_of (cpu_common.h), CUDA expf (device_common.cuh).

#include "weft/tensor/host_device.h"

namespace weft::gelu {

inline constexpr double kSqrt2OverPi = 0.7978845608028654;
inline constexpr double kCubic = 0.044715;

// σ(2u) for the GELU argument u(x). Far left (x < about −10 in float) the
// gate is taken as exactly 0, as 0.5·(1 + tanh(u)) is in float: the true value
// would be denormal, and denormal arithmetic is ~100x slower on x86.
template <typename T, typename Exp>
WEFT_HOST_DEVICE inline T gate(T x, Exp exp) {
  constexpr T kCut = sizeof(T) == 4 ? T(80) : T(700);
  const T z = T(-2) * static_cast<T>(kSqrt2OverPi) * (x + static_cast<T>(kCubic) * x * x * x);
  return z > kCut ? T(0) : T(1) / (T(1) + exp(z));
}

// gelu(x) = x·σ(2u)
template <typename T, typename Exp>
WEFT_HOST_DEVICE inline T value(T x, Exp exp) {
  return x * gate(x, exp);
}

// d/dx [x·s] = s + x·s·(1 − s)·2u'(x),   s = σ(2u),  u' = √(2/π)·(1 + 3·0.044715·x²)
template <typename T, typename Exp>
WEFT_HOST_DEVICE inline T derivative(T x, Exp exp) {
  const T s = gate(x, exp);
  const T du = static_cast<T>(kSqrt2OverPi) * (T(1) + static_cast<T>(3 * kCubic) * x * x);
  return s + x * s * (T(1) - s) * T(2) * du;
}

}  // namespace weft::gelu
