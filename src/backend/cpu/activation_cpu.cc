// ReLU and GELU (tanh form, as GPT-2), elementwise. GELU is written through
// the identity 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³),
// so it needs one exp and no tanh, and the loop vectorises.

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kCubic = 0.044715;

// σ(2u) for the GELU argument u(x). Far left (x < about −10 in float) the
// gate is taken as exactly 0, as 0.5·(1 + tanh(u)) is in float: the true value
// would be denormal, and denormal arithmetic is ~100x slower on x86.
template <typename T> inline T gelu_gate(T x) {
  constexpr T kCut = sizeof(T) == 4 ? T(80) : T(700);
  const T z = T(-2) * static_cast<T>(kSqrt2OverPi) * (x + static_cast<T>(kCubic) * x * x * x);
  return z > kCut ? T(0) : T(1) / (T(1) + exp_of<T>(z));
}

template <typename T> void relu_forward(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <typename T> void relu_backward(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

template <typename T> void gelu_forward(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * gelu_gate(x[i]);
}

// d/dx [x·s] = s + x·s·(1 − s)·2u'(x),   s = σ(2u),  u' = √(2/π)·(1 + 3·0.044715·x²)
template <typename T> void gelu_backward(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T xi = x[i];
    const T s = gelu_gate(xi);
    const T du = static_cast<T>(kSqrt2OverPi) * (T(1) + static_cast<T>(3 * kCubic) * xi * xi);
    dx[i] = dy[i] * (s + xi * s * (T(1) - s) * T(2) * du);
  }
}

}  // namespace

void activation_forward(ops::Activation act, const Tensor& x, Tensor& y) {
  dispatch_floating("activation_forward", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      relu_forward(x.data<T>(), y.data<T>(), x.numel());
    } else {
      gelu_forward(x.data<T>(), y.data<T>(), x.numel());
    }
  });
}

void activation_backward(ops::Activation act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  dispatch_floating("activation_backward", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      relu_backward(x.data<T>(), dy.data<T>(), dx.data<T>(), x.numel());
    } else {
      gelu_backward(x.data<T>(), dy.data<T>(), dx.data<T>(), x.numel());
    }
  });
}

}  // namespace weft::cpu
