#pragma once
// Shared by the CUDA kernels: dtype dispatch, float <-> storage conversion,
// 128-bit packed loads, warp and block reductions and launch sizes. Every
// kernel computes in f32 whatever it stores (f32 or bf16). The loops that
// read and write 128 bits at a time are in elementwise_loop.cuh.

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "weft/tensor/error.h"
#include "weft/tensor/tensor.h"

namespace weft::cuda {

using bf16 = __nv_bfloat16;

// Calls fn(T{}) with T = float or bf16 for the tensor's dtype. f64 exists for
// CPU reference computations only and is refused here with a message.
template <typename Fn> void dispatch_floating(const char* kernel, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::F32: fn(float{}); break;
    case DType::BF16: fn(bf16{}); break;
    default:
      throw Error(::weft::detail::concat("cuda ", kernel, ": unsupported dtype ",
                                         dtype_name(dtype), " (the CUDA backend stores f32 and bf16)"));
  }
}

// The element type of a companion tensor that mixed precision keeps in f32
// beside T data (losses, layer-norm statistics, main gradients): calls
// fn(C{}) with C = float when the companion is f32, else T.
template <typename T, typename Fn> void dispatch_companion(DType companion, Fn&& fn) {
  if (companion == DType::F32) {
    fn(float{});
  } else {
    fn(T{});
  }
}

// dispatch_floating for an op with such a companion: calls fn(T{}, C{}).
template <typename Fn>
void dispatch_floating_with_companion(const char* kernel, DType dtype, DType companion, Fn&& fn) {
  dispatch_floating(kernel, dtype, [&](auto zero) {
    dispatch_companion<decltype(zero)>(companion, [&](auto other) { fn(zero, other); });
  });
}

template <typename T> T* ptr(Tensor& t) { return static_cast<T*>(t.raw()); }
template <typename T> const T* ptr(const Tensor& t) { return static_cast<const T*>(t.raw()); }

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float x) { return __float2bfloat16_rn(x); }
// x as T stores it.
template <typename T> __device__ __forceinline__ float round_to(float x) {
  return to_float(from_float<T>(x));
}

// The exp that the formulas shared with the CPU (gelu.h) use on the device.
struct ExpF {
  __host__ __device__ float operator()(float x) const { return expf(x); }
};

// 16 bytes of T loaded or stored with one instruction (LDG.128 / STG.128).
// The tensor must be 16-byte aligned (the arena aligns to 256) and hold a
// multiple of Packed<T>::size elements for the vector path; kernels fall back
// to scalar code otherwise.
template <typename T> struct alignas(16) Packed {
  static constexpr int size = 16 / sizeof(T);
  T v[size];
  __device__ __forceinline__ float get(int i) const { return to_float(v[i]); }
  __device__ __forceinline__ void set(int i, float x) { v[i] = from_float<T>(x); }
};
template <typename T> __device__ __forceinline__ Packed<T> load_packed(const T* p) {
  return *reinterpret_cast<const Packed<T>*>(p);
}
template <typename T> __device__ __forceinline__ void store_packed(T* p, const Packed<T>& x) {
  *reinterpret_cast<Packed<T>*>(p) = x;
}
inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }
template <typename T> inline bool packable(const void* p, int64_t n) {
  return aligned16(p) && n % Packed<T>::size == 0;
}

__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}
__device__ __forceinline__ float warp_max(float x) {
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}
__device__ __forceinline__ double warp_sum(double x) {
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Sum over the block; every thread gets the result. `scratch` holds 32
// values; blockDim.x is a multiple of 32. Deterministic: a fixed tree.
template <typename T> __device__ __forceinline__ T block_sum(T x, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_sum(x);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  x = lane < warps ? scratch[lane] : T(0);
  return warp_sum(x);
}
__device__ __forceinline__ float block_max(float x, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_max(x);
  __syncthreads();
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  x = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(x);
}

// Column sums of a (kCols, kSlices) block: the threads of slice 0 get, for
// their column threadIdx.x, Σ_y value of slice y, added in slice order; the
// other slices get 0. Deterministic. Once per kernel: the scratch is static.
template <int kSlices, int kCols, typename T>
__device__ __forceinline__ T block_column_sum(T value) {
  __shared__ T slice_sums[kSlices][kCols];
  slice_sums[threadIdx.y][threadIdx.x] = value;
  __syncthreads();
  T sum = T(0);
  if (threadIdx.y == 0) {
#pragma unroll
    for (int y = 0; y < kSlices; ++y) sum += slice_sums[y][threadIdx.x];
  }
  return sum;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Rows of t read as a matrix (rows, last dimension); 0 when that is empty.
inline int64_t rows_of(const Tensor& t) { return t.dim(-1) == 0 ? 0 : t.numel() / t.dim(-1); }

// A grid of `threads`-wide blocks covering n items, for grid-stride loops.
inline unsigned grid_for(int64_t n, int threads, const char* op) {
  const int64_t wanted = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(context(op).sm_count) * 32;
  return static_cast<unsigned>(wanted < 1 ? 1 : (wanted < cap ? wanted : cap));
}

}  // namespace weft::cuda
