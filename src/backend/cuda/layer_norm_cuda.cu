// Layer norm on CUDA: the functions of src/backend/cpu/layer_norm_cpu.cc,
// computed in f32 and stored in the tensors' dtype (f32 or bf16).
//
// Forward: one warp per row, three passes over it (mean, variance about the
// mean, normalise). As on CPU, mean and rstd are rounded to their tensors'
// dtype (f32 for bf16 data under mixed precision) before y uses them, so backward sees exactly what forward applied.
// The fused add writes sum = a + b (rounded) in the first pass and the later
// passes read the sum back, so it equals add followed by forward.
//
// Backward: one block per row, each block over a fixed range of rows that
// depends only on the row count. dx is written. Every thread owns the same
// columns in every row and keeps its block's dgamma/dbeta partial sums for
// them in shared memory; the block writes them to f32 scratch, and a second
// kernel adds the blocks' partials in block order into dgamma and dbeta
// (+=), which are x's dtype or, as main gradients of bf16 data, f32. No
// atomics: the same bits on every run and on every GPU.

#include <climits>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/cuda/norm_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

// The norms' shared launch shapes and backward scratch (norm_common.cuh).
using namespace norm;

// a, b, sum, y (rows, d); gamma, beta (d); mean, rstd (rows). Without kAdd
// a is the input x, and b and sum are unused. Lane l of a row's warp handles
// elements [i, i + W) for i = l·W, l·W + 32·W, ... in every pass, so the sum
// it reads back in passes 2 and 3 is what it wrote itself in pass 1.
template <typename T, typename S, int W, bool kAdd>
__global__ void layer_norm_forward_kernel(const T* a, const T* b, T* sum, const T* gamma,
                                          const T* beta, float eps, T* y, S* mean, S* rstd,
                                          int64_t rows, int d) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= rows) return;  // whole warps only: there is no block-wide barrier below
  const int64_t offset = row * d;

  float total = 0.0f;
  for (int i = lane * W; i < d; i += kWarp * W) {
    float v[W];
    load_floats<W>(a + offset + i, v);
    if constexpr (kAdd) {
      float u[W];
      load_floats<W>(b + offset + i, u);
#pragma unroll
      for (int j = 0; j < W; ++j) v[j] = round_to<T>(v[j] + u[j]);
      store_floats<W>(sum + offset + i, v);  // may overwrite a: each element was read just above
    }
#pragma unroll
    for (int j = 0; j < W; ++j) total += v[j];
  }
  const float mu = warp_sum(total) / static_cast<float>(d);

  const T* x = (kAdd ? static_cast<const T*>(sum) : a) + offset;
  float squares = 0.0f;
  for (int i = lane * W; i < d; i += kWarp * W) {
    float v[W];
    load_floats<W>(x + i, v);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      const float c = v[j] - mu;
      squares += c * c;
    }
  }
  const float var = warp_sum(squares) / static_cast<float>(d);
  const S mean_t = from_float<S>(mu);
  const S rstd_t = from_float<S>(1.0f / sqrtf(var + eps));
  const float m = to_float(mean_t), s = to_float(rstd_t);

  for (int i = lane * W; i < d; i += kWarp * W) {
    float v[W], g[W], bias[W];
    load_floats<W>(x + i, v);
    load_floats<W>(gamma + i, g);
    load_floats<W>(beta + i, bias);
#pragma unroll
    for (int j = 0; j < W; ++j) v[j] = (v[j] - m) * s * g[j] + bias[j];
    store_floats<W>(y + offset + i, v);
  }
  if (lane == 0) {
    mean[row] = mean_t;
    rstd[row] = rstd_t;
  }
}

// dy, x, dx (rows, d); gamma (d); mean, rstd (rows). With xhat = (x − mean)·rstd
// and g = dy·gamma, per row:
//   dx = rstd · (g − mean(g) − xhat · mean(g·xhat))
// partial (gridDim.x, 2, d) f32: this block's Σ dy·xhat, then Σ dy, over its
// rows [rows·b/blocks, rows·(b+1)/blocks). dx may alias dy: every element of
// dy is read by the thread that writes dx there, before it writes.
// Dynamic shared memory: 2·d floats, laid out [dgamma|dbeta][j][pack] so that
// neighbouring threads touch neighbouring banks.
template <typename T, typename S, int W>
__global__ void layer_norm_backward_kernel(const T* dy, const T* x, const T* gamma, const S* mean,
                                           const S* rstd, T* dx, float* partial, int64_t rows,
                                           int d) {
  extern __shared__ float column_sums[];
  __shared__ float reduce_scratch[kWarp];
  const int packs = d / W;
  float* sum_dgamma = column_sums;
  float* sum_dbeta = column_sums + d;
  // Thread t owns packs t, t + blockDim.x, ... in every row: no other thread
  // touches its entries of column_sums, so they need no barrier.
  for (int p = threadIdx.x; p < packs; p += blockDim.x) {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      sum_dgamma[j * packs + p] = 0.0f;
      sum_dbeta[j * packs + p] = 0.0f;
    }
  }

  const int64_t begin = rows * blockIdx.x / gridDim.x;
  const int64_t end = rows * (blockIdx.x + 1) / gridDim.x;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t offset = r * d;
    const float m = to_float(mean[r]), s = to_float(rstd[r]);
    float sum_g = 0.0f, sum_gx = 0.0f;
    for (int p = threadIdx.x; p < packs; p += blockDim.x) {
      float dyv[W], xv[W], gv[W];
      load_floats<W>(dy + offset + p * W, dyv);
      load_floats<W>(x + offset + p * W, xv);
      load_floats<W>(gamma + p * W, gv);
#pragma unroll
      for (int j = 0; j < W; ++j) {
        const float g = dyv[j] * gv[j];
        sum_g += g;
        sum_gx += g * ((xv[j] - m) * s);
      }
    }
    const float mean_g = block_sum(sum_g, reduce_scratch) / static_cast<float>(d);
    const float mean_gx = block_sum(sum_gx, reduce_scratch) / static_cast<float>(d);
    for (int p = threadIdx.x; p < packs; p += blockDim.x) {
      float dyv[W], xv[W], gv[W], dxv[W];
      load_floats<W>(dy + offset + p * W, dyv);
      load_floats<W>(x + offset + p * W, xv);
      load_floats<W>(gamma + p * W, gv);
#pragma unroll
      for (int j = 0; j < W; ++j) {
        const float xhat = (xv[j] - m) * s;
        dxv[j] = s * (dyv[j] * gv[j] - mean_g - xhat * mean_gx);
        sum_dgamma[j * packs + p] += dyv[j] * xhat;
        sum_dbeta[j * packs + p] += dyv[j];
      }
      store_floats<W>(dx + offset + p * W, dxv);
    }
  }

  float* out = partial + static_cast<int64_t>(blockIdx.x) * 2 * d;
  for (int p = threadIdx.x; p < packs; p += blockDim.x) {
#pragma unroll
    for (int j = 0; j < W; ++j) {
      out[p * W + j] = sum_dgamma[j * packs + p];
      out[d + p * W + j] = sum_dbeta[j * packs + p];
    }
  }
}

// partial (blocks, 2d) f32 -> dgamma (d) += Σ_b partial[b][c], dbeta (d) +=
// Σ_b partial[b][d + c]. Block (32, kFinishSlices): column c = blockIdx.x·32 +
// threadIdx.x of the 2d; slice y adds blocks y, y + kFinishSlices, ... in
// order, then the slices are added in slice order. G: dgamma's and dbeta's type.
template <typename G>
__global__ void layer_norm_param_grads_kernel(const float* partial, int64_t blocks, int d,
                                              G* dgamma, G* dbeta) {
  const int64_t width = 2 * static_cast<int64_t>(d);
  const int64_t column = static_cast<int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  float total = 0.0f;
  if (column < width) {
    for (int64_t b = threadIdx.y; b < blocks; b += kFinishSlices)
      total += partial[b * width + column];
  }
  const float sum = block_column_sum<kFinishSlices, kWarp>(total);
  if (threadIdx.y == 0 && column < width) {
    G* target = column < d ? dgamma + column : dbeta + (column - d);
    *target = from_float<G>(to_float(*target) + sum);
  }
}

// Row lengths and row counts the kernels' int indices and grids can hold.
void check_sizes(const char* op, int64_t rows, int64_t d) {
  WEFT_CHECK(d <= INT_MAX / 2, "cuda ", op, ": rows of ", d, " elements are too long (at most ",
             INT_MAX / 2, ")");
  WEFT_CHECK(rows / (kForwardThreads / kWarp) < INT_MAX, "cuda ", op, ": ", rows,
             " rows are too many for one launch");
}

// Shared by layer_norm_forward and add_layer_norm_forward: without the add,
// b and sum are null and a is x.
template <typename T, typename S>
void forward_rows(const char* op, const Tensor& a, const Tensor* b, Tensor* sum,
                  const Tensor& gamma, const Tensor& beta, double eps, Tensor& y, Tensor& mean,
                  Tensor& rstd) {
  const int64_t d = a.dim(-1), rows = rows_of(a);
  if (rows == 0) return;
  check_sizes(op, rows, d);
  const T* pa = ptr<T>(a);
  const T* pb = b != nullptr ? ptr<T>(*b) : nullptr;
  T* ps = sum != nullptr ? ptr<T>(*sum) : nullptr;
  const bool packed = packable<T>(pa, d) && (pb == nullptr || packable<T>(pb, d)) &&
                      (ps == nullptr || packable<T>(ps, d)) && packable<T>(gamma.raw(), d) &&
                      packable<T>(beta.raw(), d) && packable<T>(y.raw(), d);
  constexpr int kRowsPerBlock = kForwardThreads / kWarp;
  const auto blocks = static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  const cudaStream_t s = stream(op);
  const int di = static_cast<int>(d);
  const float e = static_cast<float>(eps);
  auto launch = [&](auto kernel) {
    kernel<<<blocks, kForwardThreads, 0, s>>>(pa, pb, ps, ptr<T>(gamma), ptr<T>(beta), e, ptr<T>(y),
                                              ptr<S>(mean), ptr<S>(rstd), rows, di);
    WEFT_LAUNCH_CHECK(op);
  };
  constexpr int kPack = Packed<T>::size;
  if (sum != nullptr && packed) {
    launch(layer_norm_forward_kernel<T, S, kPack, true>);
  } else if (sum != nullptr) {
    launch(layer_norm_forward_kernel<T, S, 1, true>);
  } else if (packed) {
    launch(layer_norm_forward_kernel<T, S, kPack, false>);
  } else {
    launch(layer_norm_forward_kernel<T, S, 1, false>);
  }
}

template <typename T, typename S, typename G>
void backward_rows(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                   const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const char* op = "layer_norm_backward";
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
  float* partial = ptr<float>(partial_scratch(blocks * 2 * d));
  const size_t shared_bytes = 2 * static_cast<size_t>(d) * sizeof(float);
  const cudaStream_t s = stream(op);
  const int di = static_cast<int>(d);
  auto launch = [&](auto kernel) {
    allow_shared_memory(op, kernel, shared_bytes, d);
    kernel<<<static_cast<unsigned>(blocks), threads, shared_bytes, s>>>(
        ptr<T>(dy), ptr<T>(x), ptr<T>(gamma), ptr<S>(mean), ptr<S>(rstd), ptr<T>(dx), partial, rows,
        di);
    WEFT_LAUNCH_CHECK(op);
  };
  if (packed) {
    launch(layer_norm_backward_kernel<T, S, kPack>);
  } else {
    launch(layer_norm_backward_kernel<T, S, 1>);
  }

  const auto finish_blocks = static_cast<unsigned>((2 * d + kWarp - 1) / kWarp);
  layer_norm_param_grads_kernel<G><<<finish_blocks, dim3(kWarp, kFinishSlices), 0, s>>>(
      partial, blocks, di, ptr<G>(dgamma), ptr<G>(dbeta));
  WEFT_LAUNCH_CHECK(op);
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd) {
  dispatch_floating_with_companion("layer_norm_forward", x.dtype(), mean.dtype(), [&](auto zero, auto stat) {
    using T = decltype(zero);
    using S = decltype(stat);
    forward_rows<T, S>("layer_norm_forward", x, nullptr, nullptr, gamma, beta, eps, y, mean, rstd);
  });
}

void add_layer_norm_forward(const Tensor& a, const Tensor& b, const Tensor& gamma,
                            const Tensor& beta, double eps, Tensor& sum, Tensor& y, Tensor& mean,
                            Tensor& rstd) {
  dispatch_floating_with_companion("add_layer_norm_forward", a.dtype(), mean.dtype(), [&](auto zero, auto stat) {
    using T = decltype(zero);
    using S = decltype(stat);
    forward_rows<T, S>("add_layer_norm_forward", a, &b, &sum, gamma, beta, eps, y, mean, rstd);
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  // One kernel adds into both, through one pointer type.
  WEFT_CHECK(dgamma.dtype() == dbeta.dtype(), "cuda layer_norm_backward: dgamma ",
             dgamma.describe(), " and dbeta ", dbeta.describe(), " must have one dtype");
  dispatch_floating_with_companion("layer_norm_backward", x.dtype(), mean.dtype(), [&](auto zero, auto stat) {
    using T = decltype(zero);
    using S = decltype(stat);
    dispatch_companion<T>(dgamma.dtype(), [&](auto grad) {
      backward_rows<T, S, decltype(grad)>(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
    });
  });
}

}  // namespace weft::cuda
