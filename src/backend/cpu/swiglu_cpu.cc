// The SwiGLU gate, elementwise. The SiLU formula is src/backend/silu.h,
// shared with the CUDA kernels; here it runs with the vectorisable exp_of, so
// the loops vectorise. bf16 is read as stored and computed in f32. Outputs
// may alias inputs element for element: each element is read before the
// same iteration writes it.

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"
#include "backend/silu.h"

namespace weft::cpu {

namespace {

// S is the stored type (bf16: its bits); the arithmetic runs in Arith<S>::type.
// gate, up, h (n)
template <typename S>
void forward_impl(const S* gate, const S* up, S* h, int64_t n) {
  using A = Arith<S>;
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    h[i] = A::store(silu::value(A::load(gate[i]), ExpOf{}) * A::load(up[i]));
  }
}

// dh, gate, up, dgate, dup (n)
template <typename S>
void backward_impl(const S* dh, const S* gate, const S* up, S* dgate, S* dup, int64_t n) {
  using A = Arith<S>;
  using T = typename A::type;
#pragma omp parallel for simd if (n >= kParallelMin / 4) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T g = A::load(gate[i]), u = A::load(up[i]), d = A::load(dh[i]);
    const silu::ValueAndDerivative<T> f = silu::value_and_derivative(g, ExpOf{});
    dgate[i] = A::store(d * u * f.derivative);
    dup[i] = A::store(d * f.value);
  }
}

}  // namespace

void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& h) {
  dispatch_stored("swiglu_forward", gate.dtype(), [&](auto zero) {
    using S = decltype(zero);
    forward_impl(stored<S>(gate), stored<S>(up), stored<S>(h), gate.numel());
  });
}

void swiglu_backward(const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& dgate,
                     Tensor& dup) {
  dispatch_stored("swiglu_backward", gate.dtype(), [&](auto zero) {
    using S = decltype(zero);
    backward_impl(stored<S>(dh), stored<S>(gate), stored<S>(up), stored<S>(dgate), stored<S>(dup),
                  gate.numel());
  });
}

}  // namespace weft::cpu
