#pragma once
// Helpers shared by the CPU kernels: dtype dispatch, when to go parallel, how
// to split columns between threads, reusable scratch, and an exp that the
// compiler can vectorise (glibc's expf is scalar without -ffast-math, and
// softmax, cross-entropy and GELU spend most of their time in it).

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"
#include "weft/tensor/tensor.h"

namespace weft::cpu {

// Below this many elements a parallel region costs more than it saves.
inline constexpr int64_t kParallelMin = 1 << 15;

// Calls fn(T{}) with T = float or double for the tensor's dtype; every
// floating kernel but convert supports exactly these two.
template <typename Fn> void dispatch_floating(const char* kernel, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::F32: fn(float{}); break;
    case DType::F64: fn(double{}); break;
    default:
      throw Error(detail::concat("cpu ", kernel, ": unsupported dtype ", dtype_name(dtype),
                                 " (the CPU backend computes in f32 and f64)"));
  }
}

// Calls fn(S{}) with the stored type of tensors all of one dtype: float,
// double or (bf16) uint16_t. Mixed dtypes are widened by the caller
// (widened.h) unless the kernel names the mix it takes.
template <typename Fn> void dispatch_stored(const char* kernel, DType dtype, Fn&& fn) {
  if (dtype == DType::BF16) return fn(uint16_t{});
  dispatch_floating(kernel, dtype, fn);
}

// Whether every tensor has `dtype`.
inline bool all_of_dtype(DType dtype, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors) {
    if (t->dtype() != dtype) return false;
  }
  return true;
}
inline bool one_dtype(std::initializer_list<const Tensor*> tensors) {
  return all_of_dtype((*tensors.begin())->dtype(), tensors);
}

// The dtype Arith<S> computes in for a tensor of `dtype`: f32 for bf16.
inline DType arith_dtype(DType dtype) { return dtype == DType::BF16 ? DType::F32 : dtype; }

// A tensor's elements as the stored type S (bf16: its bits).
template <typename S> S* stored(Tensor& t) { return static_cast<S*>(t.raw()); }
template <typename S> const S* stored(const Tensor& t) { return static_cast<const S*>(t.raw()); }

// Columns [begin, end) of `cols` owned by thread `t` of `n`, cut at multiples
// of 16 elements so that two threads never write the same cache line.
// Callers unpack it into plain variables: clang 14 cannot use a structured
// binding inside the OpenMP loop that follows.
inline std::pair<int64_t, int64_t> column_range(int64_t cols, int t, int n) {
  const int64_t blocks = (cols + 15) / 16;
  const int64_t begin = std::min(cols, blocks * t / n * 16);
  const int64_t end = std::min(cols, blocks * (t + 1) / n * 16);
  return {begin, end};
}

// Per-thread scratch that only grows, so steady-state calls allocate nothing.
template <typename T> T* scratch(std::vector<T>& buffer, size_t n) {
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// exp(x) in float, about 1 ulp from the true value, branch-free so that loops
// calling it vectorise. x = n·ln2 + r with |r| ≤ ln2/2; e^r by Cephes' degree-6
// polynomial; 2^n through the exponent bits. Below -87.3 the result is 0
// (exp(-inf) = 0 exactly, as softmax masks need); NaN stays NaN.
inline float fast_exp(float x) {
  const float xc = std::min(std::max(x, -87.3f), 88.3f);
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // A NaN x makes p NaN; its n is replaced before the conversion to int,
  // which NaN would make undefined.
  const float n_finite = n == n ? n : 0.0f;
  const float two_n = std::bit_cast<float>((static_cast<int32_t>(n_finite) + 127) << 23);
  return x < -87.3f ? 0.0f : p * two_n;
}

template <typename T> inline T exp_of(T x);
template <> inline float exp_of<float>(float x) { return fast_exp(x); }
template <> inline double exp_of<double>(double x) { return std::exp(x); }

// exp_of as a function object, for the formulas shared with CUDA (gelu.h,
// silu.h), which take their exp as an argument.
struct ExpOf {
  template <typename T> T operator()(T x) const { return exp_of<T>(x); }
};

// Writes e[j] = exp(x[j] − shift) to out (which may alias x; null: not
// stored) and returns Σ e in double. In float the sum runs in float over
// chunks of 256 elements and the chunks are added in double: GCC does not
// vectorise fast_exp in a loop that also accumulates in double.
template <typename T> double exp_and_sum(const T* x, T* out, int64_t n, T shift) {
  constexpr int64_t kChunk = 256;
  double total = 0.0;
  for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
    const int64_t j1 = std::min(n, j0 + kChunk);
    T chunk = T(0);
    if (out != nullptr) {
#pragma omp simd reduction(+ : chunk)
      for (int64_t j = j0; j < j1; ++j) {
        const T e = exp_of<T>(x[j] - shift);
        out[j] = e;
        chunk += e;
      }
    } else {
#pragma omp simd reduction(+ : chunk)
      for (int64_t j = j0; j < j1; ++j) chunk += exp_of<T>(x[j] - shift);
    }
    total += chunk;
  }
  return total;
}

// The largest element of row x (n > 0) and Σ x in double: what a
// cross-entropy row needs before its exponentials.
template <typename T> void max_and_sum(const T* x, int64_t n, T& mx, double& sum_x) {
  mx = x[0];
  sum_x = 0.0;
#pragma omp simd reduction(max : mx) reduction(+ : sum_x)
  for (int64_t j = 0; j < n; ++j) {
    mx = x[j] > mx ? x[j] : mx;
    sum_x += x[j];
  }
}

}  // namespace weft::cpu
