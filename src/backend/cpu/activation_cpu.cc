// ReLU and GELU (tanh form, as GPT-2), elementwise. The GELU formula is
// src/backend/gelu.h, shared with the CUDA kernels; here it runs with the
// vectorisable exp_of, so the loops vectorise.

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/gelu.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// The exp gelu.h calls: fast_exp in float, std::exp in double.
struct ExpOf {
  template <typename T> T operator()(T x) const { return exp_of<T>(x); }
};

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
  for (int64_t i = 0; i < n; ++i) y[i] = gelu::value(x[i], ExpOf{});
}

template <typename T> void gelu_backward(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * gelu::derivative(x[i], ExpOf{});
}

}  // namespace

void activation_forward(ops::Activation act, const Tensor& x, Tensor& y) {
  if (any_bf16({&x, &y})) {
    Widened w;
    return cpu::activation_forward(act, w.in(x), w.out(y));
  }
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
  if (any_bf16({&x, &dy, &dx})) {
    Widened w;
    return cpu::activation_backward(act, w.in(x), w.in(dy), w.out(dx));
  }
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
