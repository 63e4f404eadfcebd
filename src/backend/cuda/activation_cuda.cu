// ReLU and GELU (tanh form, as GPT-2) on the GPU, elementwise, with the CPU
// kernel's formulas: GELU and its derivative are src/backend/gelu.h, in f32
// with expf. Read and written 128 bits at a time when the tensors are 16-byte
// aligned (elementwise_loop.cuh). y may alias x and dx may alias dy: each
// element is read before the same thread writes it.

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/gelu.h"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

struct ReluForward {
  __device__ float operator()(float x) const { return x > 0.0f ? x : 0.0f; }
};
struct ReluBackward {
  __device__ float operator()(float x, float dy) const { return x > 0.0f ? dy : 0.0f; }
};
struct GeluForward {
  __device__ float operator()(float x) const { return gelu::value(x, ExpF{}); }
};
struct GeluBackward {
  __device__ float operator()(float x, float dy) const { return dy * gelu::derivative(x, ExpF{}); }
};

}  // namespace

// x, y (n)
void activation_forward(ops::Activation act, const Tensor& x, Tensor& y) {
  const char* op = "activation_forward";
  dispatch_floating(op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      launch_map<T, 1>(op, ptr<T>(x), nullptr, ptr<T>(y), x.numel(), ReluForward{});
    } else {
      launch_map<T, 1>(op, ptr<T>(x), nullptr, ptr<T>(y), x.numel(), GeluForward{});
    }
  });
}

// x, dy, dx (n):  dx = act'(x)·dy
void activation_backward(ops::Activation act, const Tensor& x, const Tensor& dy, Tensor& dx) {
  const char* op = "activation_backward";
  dispatch_floating(op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (act == ops::Activation::ReLU) {
      launch_map<T, 2>(op, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), x.numel(), ReluBackward{});
    } else {
      launch_map<T, 2>(op, ptr<T>(x), ptr<T>(dy), ptr<T>(dx), x.numel(), GeluBackward{});
    }
  });
}

}  // namespace weft::cuda
