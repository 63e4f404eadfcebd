// Grouped-query attention's repeated key/value heads on the GPU: the
// functions of src/backend/cpu/repeat_kv_cpu.cc. Row r of x (one head of one
// position, Dh elements) is rows r·groups .. r·groups + groups − 1 of y.
// Forward copies (through f32, which holds bf16 and f32 exactly); backward
// sums each group of rows in order, in f32, and rounds once. Both walk their
// output 128 bits at a time when Dh is a multiple of the pack and the tensors
// are aligned (elementwise_loop.cuh).
//
//   x, dx (rows, Dh)   y, dy (rows·groups, Dh)

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

// y[i] = x[(i / d) / groups, i mod d]. Vector groups need d % W == 0.
template <typename T>
struct Repeat {
  const T* x;
  T* y;
  int64_t groups, d;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    const int64_t row = i / d, c = i - row * d;
    float v[W];
    load_floats<W>(x + row / groups * d + c, v);
    store_floats<W>(y + i, v);
  }
};

// dx[i] = Σ_g dy[(i / d)·groups + g, i mod d], g in order.
template <typename T>
struct SumGroups {
  const T* dy;
  T* dx;
  int64_t groups, d;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    const int64_t row = i / d, c = i - row * d;
    const T* first = dy + row * groups * d + c;
    float total[W];
    load_floats<W>(first, total);
    for (int64_t g = 1; g < groups; ++g) {
      float v[W];
      load_floats<W>(first + g * d, v);
#pragma unroll
      for (int k = 0; k < W; ++k) total[k] += v[k];
    }
    store_floats<W>(dx + i, total);
  }
};

}  // namespace

void repeat_kv_forward(const Tensor& x, int64_t groups, Tensor& y) {
  const char* op = "repeat_kv_forward";
  const int64_t d = x.dim(3);
  if (y.numel() == 0) return;
  dispatch_floating(op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    constexpr int kPack = Packed<T>::size;
    const Repeat<T> repeat{ptr<T>(x), ptr<T>(y), groups, d};
    const bool vector = d % kPack == 0 && aligned16(repeat.x) && aligned16(repeat.y);
    launch_elementwise<kPack>(op, y.numel(), vector, repeat);
  });
}

void repeat_kv_backward(const Tensor& dy, int64_t groups, Tensor& dx) {
  const char* op = "repeat_kv_backward";
  const int64_t d = dx.dim(3);
  if (dx.numel() == 0) return;
  dispatch_floating(op, dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    constexpr int kPack = Packed<T>::size;
    const SumGroups<T> sum{ptr<T>(dy), ptr<T>(dx), groups, d};
    const bool vector = d % kPack == 0 && aligned16(sum.dy) && aligned16(sum.dx);
    launch_elementwise<kPack>(op, dx.numel(), vector, sum);
  });
}

}  // namespace weft::cuda
