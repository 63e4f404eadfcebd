// ReLU and GELU (tanh form, as GPT-2) on the GPU, elementwise, with the CPU
// kernel's formulas: GELU(x) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³), the gate
// taken as exactly 0 where −2u > 80. Computed in f32, read and written 128
// bits at a time when the tensors are 16-byte aligned. y may alias x and dx
// may alias dy: each element is read before the same thread writes it.

#include <cstdint>

#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;
// Rounded from the CPU kernel's double constants, as its float path does.
constexpr float kSqrt2OverPi = static_cast<float>(0.7978845608028654);
constexpr float kCubic = static_cast<float>(0.044715);
constexpr float kCubicTimes3 = static_cast<float>(3 * 0.044715);

__device__ __forceinline__ float gelu_gate(float x) {
  const float z = -2.0f * kSqrt2OverPi * (x + kCubic * x * x * x);
  return z > 80.0f ? 0.0f : 1.0f / (1.0f + expf(z));
}

struct Relu {
  __device__ float forward(float x) const { return x > 0.0f ? x : 0.0f; }
  __device__ float backward(float x, float dy) const { return x > 0.0f ? dy : 0.0f; }
};

// d/dx [x·s] = s + x·s·(1 − s)·2u'(x),   s = σ(2u),  u' = √(2/π)·(1 + 3·0.044715·x²)
struct Gelu {
  __device__ float forward(float x) const { return x * gelu_gate(x); }
  __device__ float backward(float x, float dy) const {
    const float s = gelu_gate(x);
    const float du = kSqrt2OverPi * (1.0f + kCubicTimes3 * x * x);
    return dy * (s + x * s * (1.0f - s) * 2.0f * du);
  }
};

// y = act(x) (kBackward false) or dx = act'(x)·dy (kBackward true, out = dx).
// kVec: the packs of the body are 128-bit loads; the tail goes one by one.
template <typename T, typename Act, bool kBackward, bool kVec>
__global__ void activation_kernel(const T* x, const T* dy, T* out, int64_t n) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const Act act{};
  int64_t body = 0;
  if constexpr (kVec) {
    constexpr int kW = Packed<T>::size;
    const int64_t groups = n / kW;
    for (int64_t g = tid; g < groups; g += stride) {
      const int64_t i = g * kW;
      const Packed<T> px = load_packed(x + i);
      Packed<T> result;
      if constexpr (kBackward) {
        const Packed<T> pdy = load_packed(dy + i);
#pragma unroll
        for (int k = 0; k < kW; ++k) result.set(k, act.backward(px.get(k), pdy.get(k)));
      } else {
#pragma unroll
        for (int k = 0; k < kW; ++k) result.set(k, act.forward(px.get(k)));
      }
      store_packed(out + i, result);
    }
    body = groups * kW;
  }
  for (int64_t i = body + tid; i < n; i += stride) {
    if constexpr (kBackward) {
      out[i] = from_float<T>(act.backward(to_float(x[i]), to_float(dy[i])));
    } else {
      out[i] = from_float<T>(act.forward(to_float(x[i])));
    }
  }
}

template <typename T, typename Act, bool kBackward>
void launch(const char* kernel, const T* x, const T* dy, T* out, int64_t n) {
  if (n == 0) return;
  const bool vec = aligned16(x) && aligned16(out) && (!kBackward || aligned16(dy));
  const int64_t items = vec ? (n + Packed<T>::size - 1) / Packed<T>::size : n;
  const unsigned blocks = grid_for(items, kThreads, kernel);
  cudaStream_t s = stream(kernel);
  if (vec) {
    activation_kernel<T, Act, kBackward, true><<<blocks, kThreads, 0, s>>>(x, dy, out, n);
  } else {
    activation_kernel<T, Act, kBackward, false><<<blocks, kThreads, 0, s>>>(x, dy, out, n);
  }
  WEFT_LAUNCH_CHECK(kernel);
}

}  // namespace

void activation_forward(ops::Activation act, const Tensor& x, Tensor& y) {
  dispatch_floating("activation_forward", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      launch<T, Relu, false>("activation_forward", ptr<T>(x), nullptr, ptr<T>(y), x.numel());
    } else {
      launch<T, Gelu, false>("activation_forward", ptr<T>(x), nullptr, ptr<T>(y), x.numel());
    }
  });
}

void activation_backward(ops::Activation act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  dispatch_floating("activation_backward", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      launch<T, Relu, true>("activation_backward", ptr<T>(x), ptr<T>(dy), ptr<T>(dx), x.numel());
    } else {
      launch<T, Gelu, true>("activation_backward", ptr<T>(x), ptr<T>(dy), ptr<T>(dx), x.numel());
    }
  });
}

}  // namespace weft::cuda
