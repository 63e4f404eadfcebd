// RMS norm on CUDA: the functions of src/backend/cpu/rms_norm_cpu.cc,
// computed in f32 and stored in the tensors' dtype (f32 or bf16).
//
// Forward: one warp per row, two passes over it (sum of squares, normalise).
// As on CPU, rstd is rounded to its tensor's dtype (f32 for bf16 data under
// mixed precision) before y uses it, so backward sees exactly what forward
// applied. y may alias x: a lane rereads only the elements it writes.
//
// Backward: layer_norm_cuda.cu's scheme with one parameter. Each block takes
// a fixed range of rows that depends only on the row count. dx is written
// (and may alias dy). Every thread owns the same columns
// in every row and keeps its block's dgamma partial sums for them in shared
// memory; the block writes them to f32 scratch, and a second kernel adds the
// blocks' partials in block order into dgamma (+=), which is x's dtype or, as
// the main gradient of bf16 data, f32. No atomics: the same bits on every run
// and on every GPU.

#include <climits>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/cuda/norm_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

// The norms' shared launch shapes and backward scratch (norm_common.cuh).
using namespace norm;

// x, y (rows, d); gamma (d); rstd (rows). Lane l of a row's warp handles
// elements [i, i + W) for i = l·W, l·W + 32·W, ... in both passes.
template <typename T, typename S, int W>
__global__ void rms_norm_forward_kernel(const T* x, const T* gamma, float eps, T* y, S* rstd,
                                        int64_t rows, int d) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= rows) return;  // whole warps only: there is no block-wide barrier below
  const int64_t offset = row * d;

  float squares = 0.0f;
  for (int i = lane * W; i < d; i += kWarp * W) {
    float v[W];
    load_floats<W>(x + offset + i, v);
#pragma unroll
    for (int j = 0; j < W; ++j) squares += v[j] * v[j];
  }
  const float mean_square = warp_sum(squares) / static_cast<float>(d);
  const S rstd_t = from_float<S>(1.0f / sqrtf(mean_square + eps));
  const float s = to_float(rstd_t);

  for (int i = lane * W; i < d; i += kWarp * W) {
    float v[W], g[W];
    load_floats<W>(x + offset + i, v);
    load_floats<W>(gamma + i, g);
#pragma unroll
    for (int j = 0; j < W; ++j) v[j] = v[j] * s * g[j];
    store_floats<W>(y + offset + i, v);
  }
  if (lane == 0) rstd[row] = rstd_t;
}

// dy, x, dx (rows, d); gamma (d); rstd (rows). With xhat = x·rstd and
// g = dy·gamma, per row:
//   dx = rstd · (g − xhat · mean(g·xhat))
// partial (gridDim.x, d) f32: this block's Σ dy·xhat over its rows
// [rows·b/blocks, rows·(b+1)/blocks). dx may alias dy: every element of dy is
// read by the thread that writes dx there, before it writes.
// Dynamic shared memory: d floats, laid out [j][pack] so that neighbouring
// threads touch neighbouring banks.
template <typename T, typename S, int W>
__global__ void rms_norm_backward_kernel(const T* dy, const T* x, const T* gamma, const S* rstd,
                                         T* dx, float* partial, int64_t rows, int d) {
  extern __shared__ float sum_dgamma[];
  __shared__ float reduce_scratch[kWarp];
  const int packs = d / W;
  // Thread t owns packs t, t + blockDim.x, ... in every row: no other thread
  // touches its entries of sum_dgamma, so they need no barrier.
  for (int p = threadIdx.x; p < packs; p += blockDim.x) {
#pragma unroll
    for (int j = 0; j < W; ++j) sum_dgamma[j * packs + p] = 0.0f;
  }

  const int64_t begin = rows * blockIdx.x / gridDim.x;
  const int64_t end = rows * (blockIdx.x + 1) / gridDim.x;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t offset = r * d;
    const float s = to_float(rstd[r]);
    float sum_gx = 0.0f;
    for (int p = threadIdx.x; p < packs; p += blockDim.x) {
      float dyv[W], xv[W], gv[W];
      load_floats<W>(dy + offset + p * W, dyv);
      load_floats<W>(x + offset + p * W, xv);
      load_floats<W>(gamma + p * W, gv);
#pragma unroll
      for (int j = 0; j < W; ++j) sum_gx += dyv[j] * gv[j] * (xv[j] * s);
    }
    const float mean_gx = block_sum(sum_gx, reduce_scratch) / static_cast<float>(d);
    for (int p = threadIdx.x; p < packs; p += blockDim.x) {
      float dyv[W], xv[W], gv[W], dxv[W];
      load_floats<W>(dy + offset + p * W, dyv);
      load_floats<W>(x + offset + p * W, xv);
      load_floats<W>(gamma + p * W, gv);
#pragma unroll
      for (int j = 0; j < W; ++j) {
        const float xhat = xv[j] * s;
        dxv[j] = s * (dyv[j] * gv[j] - xhat * mean_gx);
        sum_dgamma[j * packs + p] += dyv[j] * xhat;
      }
      store_floats<W>(dx + offset + p * W, dxv);
    }
  }

  float* out = partial + static_cast<int64_t>(blockIdx.x) * d;
  for (int p = threadIdx.x; p < packs; p += blockDim.x) {
#pragma unroll
    for (int j = 0; j < W; ++j) out[p * W + j] = sum_dgamma[j * packs + p];
  }
}

// partial (blocks, d) f32 -> dgamma (d) += Σ_b partial[b][c]. Block (32,
// kFinishSlices): column c = blockIdx.x·32 + threadIdx.x; slice y adds blocks
// y, y + kFinishSlices, ... in order, then the slices are added in slice
// order. G: dgamma's type.
template <typename G>
__global__ void rms_norm_gamma_grad_kernel(const float* partial, int64_t blocks, int d, G* dgamma) {
  const int64_t column = static_cast<int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  float total = 0.0f;
  if (column < d) {
    for (int64_t b = threadIdx.y; b < blocks; b += kFinishSlices) total += partial[b * d + column];
  }
  const float sum = block_column_sum<kFinishSlices, kWarp>(total);
  if (threadIdx.y == 0 && column < d) {
    dgamma[column] = from_float<G>(to_float(dgamma[column]) + sum);
  }
}

// Row lengths and row counts the kernels' int indices and grids can hold.
void check_sizes(const char* op, int64_t rows, int64_t d) {
  WEFT_CHECK(d <= INT_MAX, "cuda ", op, ": rows of ", d, " elements are too long (at most ",
             INT_MAX, ")");
  WEFT_CHECK(rows / (kForwardThreads / kWarp) < INT_MAX, "cuda ", op, ": ", rows,
             " rows are too many for one launch");
}

template <typename T, typename S>
void forward_rows(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd) {
  const char* op = "rms_norm_forward";
  const int64_t d = x.dim(-1), rows = rows_of(x);
  if (rows == 0) return;
  check_sizes(op, rows, d);
  const bool packed =
      packable<T>(x.raw(), d) && packable<T>(gamma.raw(), d) && packable<T>(y.raw(), d);
  constexpr int kRowsPerBlock = kForwardThreads / kWarp;
  const auto blocks = static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  const cudaStream_t s = stream(op);
  auto launch = [&](auto kernel) {
    kernel<<<blocks, kForwardThreads, 0, s>>>(ptr<T>(x), ptr<T>(gamma), static_cast<float>(eps),
                                              ptr<T>(y), ptr<S>(rstd), rows, static_cast<int>(d));
    WEFT_LAUNCH_CHECK(op);
  };
  if (packed) {
    launch(rms_norm_forward_kernel<T, S, Packed<T>::size>);
  } else {
    launch(rms_norm_forward_kernel<T, S, 1>);
  }
}

template <typename T, typename S, typename G>
void backward_rows(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                   Tensor& dx, Tensor& dgamma) {
  const char* op = "rms_norm_backward";
  const int64_t d = x.dim(-1), rows = rows_of(x);
  if (rows == 0) return;
  check_sizes(op, rows, d);
  constexpr int kPack = Packed<T>::size;
  const bool packed = packable<T>(dy.raw(), d) && packable<T>(x.raw(), d) &&
                      packable<T>(gamma.raw(), d) && packable<T>(dx.raw(), d);
  const int64_t packs = packed ? d / kPack : d;
  const BackwardGrid grid = backward_grid(packs, rows);
  const int threads = grid.threads;
  const int64_t blocks = grid.blocks;
  float* partial = ptr<float>(partial_scratch(blocks * d));
  const size_t shared_bytes = static_cast<size_t>(d) * sizeof(float);
  const cudaStream_t s = stream(op);
  const int di = static_cast<int>(d);
  auto launch = [&](auto kernel) {
    allow_shared_memory(op, kernel, shared_bytes, d);
    kernel<<<static_cast<unsigned>(blocks), threads, shared_bytes, s>>>(
        ptr<T>(dy), ptr<T>(x), ptr<T>(gamma), ptr<S>(rstd), ptr<T>(dx), partial, rows, di);
    WEFT_LAUNCH_CHECK(op);
  };
  if (packed) {
    launch(rms_norm_backward_kernel<T, S, kPack>);
  } else {
    launch(rms_norm_backward_kernel<T, S, 1>);
  }

  const auto finish_blocks = static_cast<unsigned>((d + kWarp - 1) / kWarp);
  rms_norm_gamma_grad_kernel<G>
      <<<finish_blocks, dim3(kWarp, kFinishSlices), 0, s>>>(partial, blocks, di, ptr<G>(dgamma));
  WEFT_LAUNCH_CHECK(op);
}

}  // namespace

void rms_norm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd) {
  dispatch_floating_with_companion(
      "rms_norm_forward", x.dtype(), rstd.dtype(), [&](auto zero, auto stat) {
        forward_rows<decltype(zero), decltype(stat)>(x, gamma, eps, y, rstd);
      });
}

void rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                       Tensor& dx, Tensor& dgamma) {
  dispatch_floating_with_companion(
      "rms_norm_backward", x.dtype(), rstd.dtype(), [&](auto zero, auto stat) {
        using T = decltype(zero);
        dispatch_companion<T>(dgamma.dtype(), [&](auto grad) {
          backward_rows<T, decltype(stat), decltype(grad)>(dy, x, gamma, rstd, dx, dgamma);
        });
      });
}

}  // namespace weft::cuda
