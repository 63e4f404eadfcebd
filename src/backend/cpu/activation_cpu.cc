// ReLU and GELU (tanh form, as GPT-2), elementwise. The GELU formula is
// src/backend/gelu.h, shared with the CUDA kernels; here it runs with the
// vectorisable exp_of, so the loops vectorise.

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/gelu.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// S is the stored type (bf16: its bits); the arithmetic runs in Arith<S>::type.
template <typename S> void relu_forward(const S* x, S* y, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = Arith<S>::load(x[i]) > 0 ? x[i] : S(0);
}

template <typename S> void relu_backward(const S* x, const S* dy, S* dx, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = Arith<S>::load(x[i]) > 0 ? dy[i] : S(0);
}

template <typename S> void gelu_forward(const S* x, S* y, int64_t n) {
  using A = Arith<S>;
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = A::store(gelu::value(A::load(x[i]), ExpOf{}));
}

template <typename S> void gelu_backward(const S* x, const S* dy, S* dx, int64_t n) {
  using A = Arith<S>;
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = A::store(A::load(dy[i]) * gelu::derivative(A::load(x[i]), ExpOf{}));
  }
}

}  // namespace

void activation_forward(ops::Activation act, const Tensor& x, Tensor& y) {
  if (!one_dtype({&x, &y})) {
    Widened w;
    return cpu::activation_forward(act, w.in(x), w.out(y));
  }
  dispatch_stored("activation_forward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    const auto* xp = static_cast<const S*>(x.raw());
    auto* yp = static_cast<S*>(y.raw());
    if (act == ops::Activation::ReLU) {
      relu_forward(xp, yp, x.numel());
    } else {
      gelu_forward(xp, yp, x.numel());
    }
  });
}

void activation_backward(ops::Activation act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  if (!one_dtype({&x, &dy, &dx})) {
    Widened w;
    return cpu::activation_backward(act, w.in(x), w.in(dy), w.out(dx));
  }
  dispatch_stored("activation_backward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    const auto *xp = static_cast<const S*>(x.raw()), *dyp = static_cast<const S*>(dy.raw());
    auto* dxp = static_cast<S*>(dx.raw());
    if (act == ops::Activation::ReLU) {
      relu_backward(xp, dyp, dxp, x.numel());
    } else {
      gelu_backward(xp, dyp, dxp, x.numel());
    }
  });
}

}  // namespace weft::cpu
