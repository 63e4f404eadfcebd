// Elementwise kernels, the bias add and its backward, the two double-precision
// reductions and dtype conversion on the GPU. Streams of elements are read
// 128 bits at a time when every pointer is 16-byte aligned (the tail that
// does not fill a pack goes one by one; elementwise_loop.cuh); reductions add
// in a fixed order, so a result never changes from run to run.

#include <algorithm>
#include <cstdint>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// Calls fn(T{}) with T = float, bf16 or double: conversions and the two
// reductions also read f64 tensors (CPU reference data moved to the device).
template <typename Fn>
void dispatch_with_f64(const char* kernel, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::F32:
      fn(float{});
      break;
    case DType::BF16:
      fn(bf16{});
      break;
    case DType::F64:
      fn(double{});
      break;
    default:
      throw Error(::weft::detail::concat("cuda ", kernel, ": unsupported dtype ", dtype_name(dtype),
                                         " (expected f32, bf16 or f64)"));
  }
}

// Per-thread device scratch of n doubles that only grows, so steady-state
// calls allocate nothing. Kernels on the one compute stream use it in turn.
double* scratch_doubles(int64_t n) {
  thread_local Tensor scratch;
  Tensor::ensure(scratch, {n}, DType::F64, Device::CUDA);
  return ptr<double>(scratch);
}

// ---- elementwise maps --------------------------------------------------------

struct Constant {
  float value;
  __device__ float operator()() const { return value; }
};
struct Times {
  float alpha;
  __device__ float operator()(float x) const { return x * alpha; }
};
// y + alpha · x, called as op(x, y).
struct Axpy {
  float alpha;
  __device__ float operator()(float x, float y) const { return y + alpha * x; }
};
struct Plus {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// ---- bias --------------------------------------------------------------------

// bias_backward, pass 1: a block owns kBiasCols columns of one chunk of rows;
// its kBiasLanes row lanes stride through the chunk and their sums are added
// in lane order. partial (chunks, cols) in double.
constexpr int kBiasCols = 32;
constexpr int kBiasLanes = 8;

template <typename T>
__global__ void bias_partial_kernel(const T* dy, int64_t rows, int64_t cols, int64_t chunk_rows,
                                    double* partial) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kBiasCols + threadIdx.x;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * chunk_rows;
  const int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  double acc = 0.0;
  if (c < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kBiasLanes) acc += to_float(dy[r * cols + c]);
  }
  const double sum = block_column_sum<kBiasLanes, kBiasCols>(acc);
  if (threadIdx.y == 0 && c < cols) partial[static_cast<int64_t>(blockIdx.y) * cols + c] = sum;
}

// bias_backward, pass 2: dbias[c] += Σ_chunk partial[chunk, c], chunks in order.
// G is dbias's type: dy's, or f32 for a main gradient of bf16 activations.
template <typename G>
__global__ void bias_finish_kernel(const double* partial, int64_t chunks, int64_t cols, G* dbias) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += stride) {
    double sum = 0.0;
    for (int64_t k = 0; k < chunks; ++k) sum += partial[k * cols + c];
    dbias[c] = from_float<G>(to_float(dbias[c]) + static_cast<float>(sum));
  }
}

// ---- reductions and conversion ----------------------------------------------

__device__ __forceinline__ double to_double(float x) {
  return x;
}
__device__ __forceinline__ double to_double(bf16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ double to_double(double x) {
  return x;
}

// A double becomes bf16 through float, as on the CPU (and in PyTorch).
template <typename T>
__device__ __forceinline__ T from_double(double x);
template <>
__device__ __forceinline__ float from_double<float>(double x) {
  return static_cast<float>(x);
}
template <>
__device__ __forceinline__ bf16 from_double<bf16>(double x) {
  return __float2bfloat16_rn(static_cast<float>(x));
}
template <>
__device__ __forceinline__ double from_double<double>(double x) {
  return x;
}

// sum, pass 1: block b's partial sum in double. Thread t takes packs t,
// t + stride, ... and then one tail element; the packs are read 128 bits at
// a time or (unaligned) one element at a time, in the same order either way,
// so the sum does not depend on the alignment.
constexpr int kSumBlocks = 1024;

template <bool kSquare, bool kVec, typename T>
__global__ void sum_partial_kernel(const T* x, int64_t n, double* partial) {
  constexpr int kW = Packed<T>::size;
  __shared__ double scratch[32];
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t groups = n / kW;
  double acc = 0.0;
  for (int64_t g = tid; g < groups; g += stride) {
    Packed<T> pack;
    if constexpr (kVec) {
      pack = load_packed(x + g * kW);
    } else {
#pragma unroll
      for (int k = 0; k < kW; ++k) pack.v[k] = x[g * kW + k];
    }
#pragma unroll
    for (int k = 0; k < kW; ++k) {
      const double v = to_double(pack.v[k]);
      acc += kSquare ? v * v : v;
    }
  }
  for (int64_t i = groups * kW + tid; i < n; i += stride) {
    const double v = to_double(x[i]);
    acc += kSquare ? v * v : v;
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// sum, pass 2: one block adds the partials, thread t taking t, t + 256, ...
__global__ void sum_finish_kernel(const double* partial, int64_t count, double* result) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) *result = acc;
}

// Blocks of a sum over n elements of x: a function of n only, never of the
// device, so the order of the additions is fixed by the tensor's size.
int64_t sum_blocks(const Tensor& x) {
  int64_t blocks = 0;
  dispatch_with_f64("sum", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    blocks = std::min<int64_t>(kSumBlocks, ceil_div(x.numel(), kThreads * Packed<T>::size));
  });
  return blocks;
}

// Queues the sum (of squares) of x into *device_result, using `partial`
// (sum_blocks(x) doubles) on the way; returns how many it used. x is not
// empty.
template <bool kSquare>
int64_t queue_sum(const char* kernel, const Tensor& x, double* partial, double* device_result) {
  const int64_t n = x.numel(), blocks = sum_blocks(x);
  dispatch_with_f64(kernel, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* data = ptr<T>(x);
    const unsigned grid = static_cast<unsigned>(blocks);
    cudaStream_t s = stream(kernel);
    if (aligned16(data)) {
      sum_partial_kernel<kSquare, true><<<grid, kThreads, 0, s>>>(data, n, partial);
    } else {
      sum_partial_kernel<kSquare, false><<<grid, kThreads, 0, s>>>(data, n, partial);
    }
    WEFT_LAUNCH_CHECK(kernel);
    sum_finish_kernel<<<1, kThreads, 0, s>>>(partial, blocks, device_result);
    WEFT_LAUNCH_CHECK(kernel);
  });
  return blocks;
}

// The sums of `xs` into `results`: every reduction queued, then one copy
// to the host and one synchronisation.
template <bool kSquare>
void reduce_many(const char* kernel, const std::vector<Tensor>& xs, double* results) {
  int64_t partials = 0;
  for (const Tensor& x : xs) partials += x.numel() > 0 ? sum_blocks(x) : 0;
  const auto count = static_cast<int64_t>(xs.size());
  double* scratch = scratch_doubles(partials + count);
  double* device_results = scratch + partials;
  cudaStream_t s = stream(kernel);
  // Empty tensors sum to 0: their slots are zeroed with the rest first.
  WEFT_CUDA_CALL(kernel, cudaMemsetAsync(device_results, 0, count * sizeof(double), s));
  double* partial = scratch;
  for (int64_t i = 0; i < count; ++i) {
    if (xs[i].numel() == 0) continue;
    partial += queue_sum<kSquare>(kernel, xs[i], partial, device_results + i);
  }
  WEFT_CUDA_CALL(kernel, cudaMemcpyAsync(results, device_results, count * sizeof(double),
                                         cudaMemcpyDeviceToHost, s));
  WEFT_CUDA_CALL(kernel, cudaStreamSynchronize(s));
}

template <bool kSquare>
void reduce(const char* kernel, const Tensor& x, double& result) {
  result = 0.0;
  if (x.numel() == 0) return;
  reduce_many<kSquare>(kernel, {x}, &result);
}

// Four elements moved with one load and one store (two for f64's 32 bytes).
template <typename T>
struct alignas(4 * sizeof(T)) Quad {
  T v[4];
};

// dst[i] = src[i] through double, a Quad at a time (W = 4) or one element.
template <typename S, typename D>
struct Convert {
  const S* src;
  D* dst;
  __device__ __forceinline__ void operator()(int64_t i, Width<1>) const {
    dst[i] = from_double<D>(to_double(src[i]));
  }
  __device__ __forceinline__ void operator()(int64_t i, Width<4>) const {
    const Quad<S> in = *reinterpret_cast<const Quad<S>*>(src + i);
    Quad<D> out;
#pragma unroll
    for (int k = 0; k < 4; ++k) out.v[k] = from_double<D>(to_double(in.v[k]));
    *reinterpret_cast<Quad<D>*>(dst + i) = out;
  }
};

}  // namespace

void fill(Tensor& x, double value) {
  dispatch_floating("fill", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_map<T, 0>("fill", nullptr, nullptr, ptr<T>(x), x.numel(),
                     Constant{static_cast<float>(value)});
  });
}

void scale(Tensor& x, double alpha) {
  dispatch_floating("scale", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_map<T, 1>("scale", ptr<T>(x), nullptr, ptr<T>(x), x.numel(),
                     Times{static_cast<float>(alpha)});
  });
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  dispatch_floating("axpy", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_map<T, 2>("axpy", ptr<T>(x), ptr<T>(y), ptr<T>(y), x.numel(),
                     Axpy{static_cast<float>(alpha)});
  });
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_floating("add", a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_map<T, 2>("add", ptr<T>(a), ptr<T>(b), ptr<T>(out), a.numel(), Plus{});
  });
}

// y (rows, cols) += bias (cols)
void add_bias(const Tensor& bias, Tensor& y) {
  const int64_t n = y.numel(), cols = y.dim(-1);
  if (n == 0) return;
  dispatch_floating("add_bias", y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_add_repeating("add_bias", ptr<T>(bias), cols, ptr<T>(y), n);
  });
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  const char* op = "bias_backward";
  const int64_t rows = rows_of(dy), cols = dy.dim(-1);
  if (rows == 0 || cols == 0) return;
  dispatch_floating_with_companion(op, dy.dtype(), dbias.dtype(), [&](auto zero, auto grad) {
    using T = decltype(zero);
    using G = decltype(grad);
    // Chunks of at least 256 rows, at most 1024 of them, and partials of at
    // most 4 Mi doubles (32 MiB) however wide the bias: all fixed by the
    // shape, so the order of the additions is too.
    const int64_t by_rows = std::min<int64_t>(ceil_div(rows, 256), 1024);
    const int64_t by_memory = std::max<int64_t>(1, (int64_t{4} << 20) / cols);
    const int64_t chunks_wanted = std::min(by_rows, by_memory);
    const int64_t chunk_rows = ceil_div(rows, chunks_wanted);
    const int64_t chunks = ceil_div(rows, chunk_rows);
    double* partial = scratch_doubles(chunks * cols);
    cudaStream_t s = stream(op);
    const dim3 grid(static_cast<unsigned>(ceil_div(cols, kBiasCols)),
                    static_cast<unsigned>(chunks));
    bias_partial_kernel<T>
        <<<grid, dim3(kBiasCols, kBiasLanes), 0, s>>>(ptr<T>(dy), rows, cols, chunk_rows, partial);
    WEFT_LAUNCH_CHECK(op);
    bias_finish_kernel<G>
        <<<grid_for(cols, kThreads, op), kThreads, 0, s>>>(partial, chunks, cols, ptr<G>(dbias));
    WEFT_LAUNCH_CHECK(op);
  });
}

void sum(const Tensor& x, double& result) {
  reduce<false>("sum", x, result);
}

void sum_squares(const Tensor& x, double& result) {
  reduce<true>("sum_squares", x, result);
}

void sum_squares_many(const std::vector<Tensor>& xs, std::vector<double>& results) {
  reduce_many<true>("sum_squares_many", xs, results.data());
}

// Every pair among f32, f64 and bf16; a double becomes bf16 through float.
void convert(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  if (n == 0) return;
  cudaStream_t s = stream("convert");
  if (src.dtype() == dst.dtype()) {
    if (src.raw() != dst.raw()) {
      WEFT_CUDA_CALL("convert", cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(),
                                                cudaMemcpyDeviceToDevice, s));
    }
    return;
  }
  dispatch_with_f64("convert", src.dtype(), [&](auto src_zero) {
    using S = decltype(src_zero);
    dispatch_with_f64("convert", dst.dtype(), [&](auto dst_zero) {
      using D = decltype(dst_zero);
      const S* in = ptr<S>(src);
      D* out = ptr<D>(dst);
      const bool vec = reinterpret_cast<uintptr_t>(in) % sizeof(Quad<S>) == 0 &&
                       reinterpret_cast<uintptr_t>(out) % sizeof(Quad<D>) == 0;
      launch_elementwise<4>("convert", n, vec, Convert<S, D>{in, out});
    });
  });
}

}  // namespace weft::cuda
