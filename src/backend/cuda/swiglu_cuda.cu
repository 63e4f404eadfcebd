// The SwiGLU gate on the GPU, elementwise, with the CPU kernel's formula:
// SiLU and its derivative are src/backend/silu.h, in f32 with expf. Read and
// written 128 bits at a time when the tensors are 16-byte aligned
// (elementwise_loop.cuh). Outputs may alias inputs element for element: each
// element is read before the same thread writes it.

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"
#include "backend/silu.h"

namespace weft::cuda {

namespace {

struct SwigluForward {
  __device__ float operator()(float g, float u) const { return silu::value(g, ExpF{}) * u; }
};

// dgate = dh·up·silu'(gate), dup = dh·silu(gate); all (n).
template <typename T>
struct SwigluBackward {
  const T* dh;
  const T* gate;
  const T* up;
  T* dgate;
  T* dup;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    float d[W], g[W], u[W];
    load_floats<W>(dh + i, d);
    load_floats<W>(gate + i, g);
    load_floats<W>(up + i, u);
#pragma unroll
    for (int k = 0; k < W; ++k) {
      const silu::ValueAndDerivative<float> f = silu::value_and_derivative(g[k], ExpF{});
      g[k] = d[k] * u[k] * f.derivative;
      u[k] = d[k] * f.value;
    }
    store_floats<W>(dgate + i, g);
    store_floats<W>(dup + i, u);
  }
};

}  // namespace

// gate, up, h (n)
void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& h) {
  const char* op = "swiglu_forward";
  dispatch_floating(op, gate.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_map<T, 2>(op, ptr<T>(gate), ptr<T>(up), ptr<T>(h), gate.numel(), SwigluForward{});
  });
}

void swiglu_backward(const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& dgate,
                     Tensor& dup) {
  const char* op = "swiglu_backward";
  dispatch_floating(op, gate.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const SwigluBackward<T> body{ptr<T>(dh), ptr<T>(gate), ptr<T>(up), ptr<T>(dgate), ptr<T>(dup)};
    const bool vector = aligned16(body.dh) && aligned16(body.gate) && aligned16(body.up) &&
                        aligned16(body.dgate) && aligned16(body.dup);
    launch_elementwise<Packed<T>::size>(op, gate.numel(), vector, body);
  });
}

}  // namespace weft::cuda
