#pragma once
// SiLU (swish), the gate of SwiGLU, once for the CPU and the CUDA kernels:
//   silu(g) = g·σ(g),   silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
// T is float or double. Each backend passes its exp: the CPU its
// vectorisable exp_of (cpu_common.h), CUDA expf (device_common.cuh).

#include "weft/tensor/host_device.h"

namespace weft::silu {

// σ(g) = 1 / (1 + e^−g). Far left (g < −80 in float, −700 in double) it is
// taken as exactly 0: the true value would be denormal, and denormal
// arithmetic is ~100x slower on x86.
template <typename T, typename Exp>
WEFT_HOST_DEVICE inline T sigmoid(T g, Exp exp) {
  constexpr T kCut = sizeof(T) == 4 ? T(80) : T(700);
  return -g > kCut ? T(0) : T(1) / (T(1) + exp(-g));
}

template <typename T, typename Exp>
WEFT_HOST_DEVICE inline T value(T g, Exp exp) {
  return g * sigmoid(g, exp);
}

// silu(g) and silu'(g) from one σ(g): what SwiGLU's backward needs.
template <typename T>
struct ValueAndDerivative {
  T value;
  T derivative;
};

template <typename T, typename Exp>
WEFT_HOST_DEVICE inline ValueAndDerivative<T> value_and_derivative(T g, Exp exp) {
  const T s = sigmoid(g, exp);
  return {g * s, s * (T(1) + g * (T(1) - s))};
}

}  // namespace weft::silu
