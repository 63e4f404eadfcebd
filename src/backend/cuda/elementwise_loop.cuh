#pragma once
// The vectorised loops of the CUDA kernels, written once. Elements move 128
// bits at a time (one Packed<T>, LDG.128 / STG.128) where every pointer is
// 16-byte aligned, one at a time otherwise; either way they are computed in
// f32 and in the same order, so the result does not depend on the alignment.
//
// A loop hands its body a first element i and a width W as Width<W>: the
// body handles elements [i, i + W), reading and writing them with
// load_floats<W> and store_floats<W>. W is a multiple of the pack on the
// vector path and 1 on the scalar one, so a body is written once for both.
//
//   elementwise_kernel / launch_elementwise   a grid-stride loop over [0, n)
//   for_block_range                           one block's share of a range
//                                             (a row, a chunk)

#include <cstdint>
#include <type_traits>

#include "backend/cuda/device_common.cuh"

namespace weft::cuda {

template <int W>
using Width = std::integral_constant<int, W>;

// W consecutive elements at p as floats: one 128-bit access per pack when W
// is a multiple of Packed<T>::size (p 16-byte aligned), one scalar access
// when W is 1.
template <int W, typename T>
__device__ __forceinline__ void load_floats(const T* p, float (&v)[W]) {
  if constexpr (W == 1) {
    v[0] = to_float(*p);
  } else {
    constexpr int P = Packed<T>::size;
    static_assert(W % P == 0, "a vector access is whole 16-byte packs");
#pragma unroll
    for (int k = 0; k < W; k += P) {
      const Packed<T> x = load_packed(p + k);
#pragma unroll
      for (int e = 0; e < P; ++e) v[k + e] = x.get(e);
    }
  }
}

template <int W, typename T>
__device__ __forceinline__ void store_floats(T* p, const float (&v)[W]) {
  if constexpr (W == 1) {
    *p = from_float<T>(v[0]);
  } else {
    constexpr int P = Packed<T>::size;
    static_assert(W % P == 0, "a vector access is whole 16-byte packs");
#pragma unroll
    for (int k = 0; k < W; k += P) {
      Packed<T> x;
#pragma unroll
      for (int e = 0; e < P; ++e) x.set(e, v[k + e]);
      store_packed(p + k, x);
    }
  }
}

// Elements per vector group of a loop that reads T and writes G (bf16
// activations, f32 main gradients): whole 16-byte packs of both, as the
// larger pack is a multiple of the smaller.
template <typename T, typename G>
constexpr int kPackOfBoth = Packed<T>::size > Packed<G>::size ? Packed<T>::size : Packed<G>::size;

// op(i, Width<W>) for the groups i = 0, W, 2W, ... below n, grid-stride, then
// op(i, Width<1>) for each of the n mod W elements left.
template <int W, typename Op>
__global__ void elementwise_kernel(int64_t n, Op op) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t groups = n / W;
  for (int64_t g = tid; g < groups; g += stride) op(g * W, Width<W>{});
  if constexpr (W > 1) {
    for (int64_t i = groups * W + tid; i < n; i += stride) op(i, Width<1>{});
  }
}

constexpr int kElementwiseThreads = 256;

// Runs op over [0, n) in groups of W when `vector`, else one element at a
// time. The caller has checked what W needs: every pointer op touches is
// aligned for it, and no group crosses a period op reads (a bias row).
template <int W, typename Op>
void launch_elementwise(const char* kernel, int64_t n, bool vector, const Op& op) {
  if (n == 0) return;
  const cudaStream_t s = stream(kernel);
  if (vector) {
    const unsigned blocks = grid_for(ceil_div(n, W), kElementwiseThreads, kernel);
    elementwise_kernel<W><<<blocks, kElementwiseThreads, 0, s>>>(n, op);
  } else {
    const unsigned blocks = grid_for(n, kElementwiseThreads, kernel);
    elementwise_kernel<1><<<blocks, kElementwiseThreads, 0, s>>>(n, op);
  }
  WEFT_LAUNCH_CHECK(kernel);
}

// out[i] = f(), f(a[i]) or f(a[i], b[i]) for kArity 0, 1, 2. out may alias a
// or b: each element is read before it is written, by the same thread.
template <typename T, int kArity, typename F>
struct Map {
  const T* a;
  const T* b;
  T* out;
  F f;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    float r[W];
    if constexpr (kArity == 0) {
#pragma unroll
      for (int k = 0; k < W; ++k) r[k] = f();
    } else if constexpr (kArity == 1) {
      load_floats<W>(a + i, r);
#pragma unroll
      for (int k = 0; k < W; ++k) r[k] = f(r[k]);
    } else {
      float rb[W];
      load_floats<W>(a + i, r);
      load_floats<W>(b + i, rb);
#pragma unroll
      for (int k = 0; k < W; ++k) r[k] = f(r[k], rb[k]);
    }
    store_floats<W>(out + i, r);
  }
};

// Map over n elements, 128 bits at a time when every pointer it uses allows.
template <typename T, int kArity, typename F>
void launch_map(const char* kernel, const T* a, const T* b, T* out, int64_t n, const F& f) {
  const bool vector =
      aligned16(out) && (kArity < 1 || aligned16(a)) && (kArity < 2 || aligned16(b));
  launch_elementwise<Packed<T>::size>(kernel, n, vector, Map<T, kArity, F>{a, b, out, f});
}

// y[i] += rows[i mod period]: a bias on every row of y, or positions on
// every sequence of a batch. Vector groups need period % Packed<T>::size == 0.
template <typename T>
struct AddRepeating {
  const T* rows;
  T* y;
  int64_t period;
  // y[i, i + W) += ..., leaving in v the sums as stored (rounded to T).
  template <int W>
  __device__ __forceinline__ void add(int64_t i, float (&v)[W]) const {
    float r[W];
    load_floats<W>(y + i, v);
    load_floats<W>(rows + i % period, r);
#pragma unroll
    for (int k = 0; k < W; ++k) v[k] = round_to<T>(v[k] + r[k]);
    store_floats<W>(y + i, v);
  }
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    float v[W];
    add(i, v);
  }
};

template <typename T>
void launch_add_repeating(const char* kernel, const T* rows, int64_t period, T* y, int64_t n) {
  const bool vector = period % Packed<T>::size == 0 && aligned16(rows) && aligned16(y);
  launch_elementwise<Packed<T>::size>(kernel, n, vector, AddRepeating<T>{rows, y, period});
}

// Elements of p before its first 16-byte boundary, at most n.
template <typename T>
__device__ __forceinline__ int64_t head_of(const T* p, int64_t n) {
  const int64_t misaligned = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 16);
  const int64_t head = misaligned == 0 ? 0 : (16 - misaligned) / static_cast<int64_t>(sizeof(T));
  return head < n ? head : n;
}

// This thread's share of [0, n) when the whole block walks it, block-stride:
// fn(i, Width<1>) for the head [0, head), fn(i, Width<W>) for the groups
// from head on, fn(i, Width<1>) for the tail. head = n: all one at a time.
template <int W, typename Fn>
__device__ __forceinline__ void for_block_range(int64_t head, int64_t n, Fn&& fn) {
  const int64_t groups = (n - head) / W;
  for (int64_t i = threadIdx.x; i < head; i += blockDim.x) fn(i, Width<1>{});
  for (int64_t g = threadIdx.x; g < groups; g += blockDim.x) fn(head + g * W, Width<W>{});
  for (int64_t i = head + groups * W + threadIdx.x; i < n; i += blockDim.x) fn(i, Width<1>{});
}

}  // namespace weft::cuda
