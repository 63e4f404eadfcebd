// Flash attention on CUDA: online softmax over tiles of keys held in shared
// memory; no (Tq,Tk) matrix ever reaches device memory. Same function as
// src/backend/cpu/flash_attention_cpu.cc.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   (row stride H·Dh)
//   lse, delta (B,H,Tq) f32        key_valid (B,Tk) i32 or null
//
// SIMT design, computing in f32 whatever is stored (f32 or bf16). A block
// owns kRowTile rows of one (b, h) — queries in the forward and dq kernels,
// keys in the dk/dv kernel — two per warp, and steps through the other side
// kTile = 32 rows at a time, one row per lane:
//   - dot products run with lanes across the stepped tile: lane j forms
//     q_i·k_j over all of Dh, reading its row of a shared tile padded to
//     kDh + 1 floats (no bank conflicts) and the owned row as a broadcast;
//   - accumulators (out, dq, dk, dv) run with lanes across Dh: lane c owns
//     dims c, c + 32, ...; each stepped row's weight is broadcast by shuffle.
// Head dims are padded with zeros to kDh ∈ {32, 64, 128}. Every sum runs in
// a fixed order and the backward writes dk, dv and dq from separate kernels,
// so results are deterministic without atomics. A tensor-core version would
// replace the two inner loops of each kernel by mma tiles over the same
// shared-memory layout.
//
// The entry points at the bottom send bf16 calls to cuDNN's fused attention
// where it takes them (cudnn_attention.h lists what it declines) and
// everything else to these kernels.

#include <algorithm>
#include <type_traits>

#include "backend/cuda/attention_problem.cuh"
#include "backend/cuda/cudnn_attention.h"
#include "backend/cuda/device_common.cuh"
#include "backend/cuda/flash_attention_simt.h"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerWarp = 2;
constexpr int kRowTile = kWarps * kRowsPerWarp;  // rows a block owns
constexpr int kTile = 32;                        // rows stepped through: one per lane
constexpr int64_t kMaxHeadDim = 128;

using Problem = AttentionProblem;

// Rows [t0, t0 + rows) of head h of src (B,len,H,Dh) into shared memory as
// f32, row stride `stride`; rows past len and dims past Dh become 0 so that
// they add nothing.
template <int kDh, typename T>
__device__ void load_rows(float* dst, int stride, const T* src, const Problem& p, int64_t b,
                          int64_t h, int64_t t0, int rows, int64_t len) {
  for (int e = threadIdx.x; e < rows * kDh; e += blockDim.x) {
    const int r = e / kDh, c = e % kDh;
    const int64_t t = t0 + r;
    dst[r * stride + c] = (t < len && c < p.Dh) ? to_float(src[p.row(b, t, h, len) + c]) : 0.0f;
  }
}

// The next stepped tile: rows [t0, t0 + kTile) of x and y (B,len,H,Dh) into
// xs (stride kDh + 1: read across lanes) and ys (stride ys_stride), once
// every thread is done with the previous tile and has loaded its owned rows.
template <int kDh, typename T>
__device__ __forceinline__ void step_tile(float* xs, const T* x, float* ys, int ys_stride,
                                          const T* y, const Problem& p, int64_t b, int64_t h,
                                          int64_t t0, int64_t len) {
  __syncthreads();
  load_rows<kDh>(xs, kDh + 1, x, p, b, h, t0, kTile, len);
  load_rows<kDh>(ys, ys_stride, y, p, b, h, t0, kTile, len);
  __syncthreads();
}

// o[c] = scale·acc[t] for the dims c = t·32 + lane of this lane below Dh.
template <int kDh, typename T>
__device__ __forceinline__ void store_lane_dims(T* o, const float (&acc)[kDh / 32], float scale,
                                                int64_t Dh, int lane) {
#pragma unroll
  for (int t = 0; t < kDh / 32; ++t) {
    const int c = t * 32 + lane;
    if (c < Dh) o[c] = from_float<T>(acc[t] * scale);
  }
}

// Σ_c a[c]·b[c] over kDh dims, in order, one fused multiply-add per term.
// flash_delta_kernel sums the same way: where a query sees a single key its
// out equals that key's v and dp − delta must come out exactly 0.
template <int kDh>
__device__ __forceinline__ float dot_row(const float* a, const float* b) {
  float sum = 0.0f;
#pragma unroll 8
  for (int c = 0; c < kDh; ++c) sum = fmaf(a[c], b[c], sum);
  return sum;
}

// The keys [0, key_end) that queries [i0, i1) may see.
__device__ int64_t key_end(const Problem& p, int64_t i1) {
  if (!p.causal) return p.Tk;
  return min(max(i1 + p.Tk - p.Tq, int64_t{0}), p.Tk);
}

// One block per (b, h, kRowTile queries); warp w owns queries
// i0 + w·kRowsPerWarp + r. Keeps per query the running max m, sum l and the
// unnormalised output; writes out and lse.
template <typename T, int kDh>
__global__ void __launch_bounds__(kThreads)
    flash_forward_kernel(Problem p, int64_t query_tiles, const T* q, const T* k, const T* v,
                         float* lse, T* out) {
  constexpr int kPerLane = kDh / 32;
  __shared__ float qs[kRowTile * kDh];
  __shared__ float ks[kTile * (kDh + 1)];
  __shared__ float vs[kTile * kDh];
  const int64_t bh = blockIdx.x / query_tiles, b = bh / p.H, h = bh % p.H;
  const int64_t i0 = (blockIdx.x % query_tiles) * kRowTile;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  load_rows<kDh>(qs, kDh, q, p, b, h, i0, kRowTile, p.Tq);

  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) acc[r][t] = 0.0f;
  }

  const int64_t kend = key_end(p, min(i0 + kRowTile, p.Tq));
  for (int64_t j0 = 0; j0 < kend; j0 += kTile) {
    step_tile<kDh>(ks, k, vs, kDh, v, p, b, h, j0, p.Tk);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int own = warp * kRowsPerWarp + r;
      const float dot = dot_row<kDh>(qs + own * kDh, ks + lane * (kDh + 1));
      const float s = p.sees(b, i0 + own, j) ? p.scale * dot : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(s));
      if (m_new == -INFINITY) continue;        // warp-uniform: no key seen yet
      const float alpha = expf(m[r] - m_new);  // 0 while m is −inf (l, acc are 0 then)
      const float prob = expf(s - m_new);
      l[r] = l[r] * alpha + warp_sum(prob);
#pragma unroll
      for (int t = 0; t < kPerLane; ++t) acc[r][t] *= alpha;
      for (int jj = 0; jj < kTile; ++jj) {
        const float pj = __shfl_sync(0xffffffffu, prob, jj);
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) acc[r][t] += pj * vs[jj * kDh + t * 32 + lane];
      }
      m[r] = m_new;
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = i0 + warp * kRowsPerWarp + r;
    if (i >= p.Tq) continue;
    const bool seen = m[r] != -INFINITY;  // then l >= 1: the max scores exp(0)
    const float inv = seen ? 1.0f / l[r] : 0.0f;
    store_lane_dims<kDh>(out + p.row(b, i, h, p.Tq), acc[r], inv, p.Dh, lane);
    if (lane == 0) lse[bh * p.Tq + i] = seen ? m[r] + logf(l[r]) : -INFINITY;
  }
}

// delta (B,H,Tq) = rowsum(dout ⊙ out): one thread per (b, i, h) row, summing
// in dot_row's order (zero padding past Dh adds exactly nothing).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    flash_delta_kernel(Problem p, const T* out, const T* dout, float* delta) {
  const int64_t w = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (w >= p.B * p.Tq * p.H) return;
  const int64_t h = w % p.H, i = (w / p.H) % p.Tq, b = w / (p.H * p.Tq);
  float sum = 0.0f;
  for (int64_t c = 0; c < p.Dh; ++c) {
    sum = fmaf(to_float(dout[w * p.Dh + c]), to_float(out[w * p.Dh + c]), sum);
  }
  delta[(b * p.H + h) * p.Tq + i] = sum;
}

// The gradient weights of query i and key j, given s = q_i·k_j and
// dp = dout_i·v_j: p = exp(scale·s − lse_i), ds = p·(dp − delta_i)·scale.
struct Weights {
  float p, ds;
};
__device__ __forceinline__ Weights weights(const Problem& p, bool seen, float s, float dp,
                                           float lse_i, float delta_i) {
  if (!seen || lse_i == -INFINITY) return {0.0f, 0.0f};
  const float prob = expf(p.scale * s - lse_i);
  return {prob, prob * (dp - delta_i) * p.scale};
}

// Shared floats of the two backward kernels: two stepped tiles padded to
// kDh + 1, two owned tiles, and lse, delta of the stepped queries.
template <int kDh>
constexpr size_t backward_shared_floats() {
  return 2 * kTile * (kDh + 1) + 2 * kRowTile * kDh + 2 * kTile;
}

// dk, dv: one block per (b, h, kRowTile keys); warp w owns keys
// j0 + w·kRowsPerWarp + r and steps through the queries that can see them.
template <typename T, int kDh>
__global__ void __launch_bounds__(kThreads)
    flash_backward_dkdv_kernel(Problem p, int64_t key_tiles, const T* q, const T* k, const T* v,
                               const T* dout, const float* lse, const float* delta, T* dk, T* dv) {
  constexpr int kPerLane = kDh / 32;
  extern __shared__ float shared[];
  float* qs = shared;                   // [kTile][kDh + 1]  stepped queries
  float* dos = qs + kTile * (kDh + 1);  // [kTile][kDh + 1]  their dout
  float* ks = dos + kTile * (kDh + 1);  // [kRowTile][kDh]   owned keys
  float* vs = ks + kRowTile * kDh;      // [kRowTile][kDh]
  float* lse_s = vs + kRowTile * kDh;   // [kTile]
  float* delta_s = lse_s + kTile;       // [kTile]
  const int64_t bh = blockIdx.x / key_tiles, b = bh / p.H, h = bh % p.H;
  const int64_t j0 = (blockIdx.x % key_tiles) * kRowTile;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  load_rows<kDh>(ks, kDh, k, p, b, h, j0, kRowTile, p.Tk);
  load_rows<kDh>(vs, kDh, v, p, b, h, j0, kRowTile, p.Tk);

  float dk_acc[kRowsPerWarp][kPerLane], dv_acc[kRowsPerWarp][kPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) dk_acc[r][t] = dv_acc[r][t] = 0.0f;
  }

  // Under the causal mask query i sees key j0 only when i >= j0 − (Tk − Tq).
  const int64_t i_begin = p.causal ? max(j0 - (p.Tk - p.Tq), int64_t{0}) : 0;
  for (int64_t i0 = i_begin; i0 < p.Tq; i0 += kTile) {
    __syncthreads();  // owned rows loaded; the previous tile fully read
    load_rows<kDh>(qs, kDh + 1, q, p, b, h, i0, kTile, p.Tq);
    load_rows<kDh>(dos, kDh + 1, dout, p, b, h, i0, kTile, p.Tq);
    if (threadIdx.x < kTile) {
      const int64_t i = i0 + threadIdx.x;
      lse_s[threadIdx.x] = i < p.Tq ? lse[bh * p.Tq + i] : -INFINITY;
      delta_s[threadIdx.x] = i < p.Tq ? delta[bh * p.Tq + i] : 0.0f;
    }
    __syncthreads();
    const int64_t i = i0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int own = warp * kRowsPerWarp + r;
      const float s = dot_row<kDh>(qs + lane * (kDh + 1), ks + own * kDh);
      const float dp = dot_row<kDh>(dos + lane * (kDh + 1), vs + own * kDh);
      const Weights wt = weights(p, p.sees(b, i, j0 + own), s, dp, lse_s[lane], delta_s[lane]);
      for (int ii = 0; ii < kTile; ++ii) {
        const float pi = __shfl_sync(0xffffffffu, wt.p, ii);
        const float dsi = __shfl_sync(0xffffffffu, wt.ds, ii);
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) {
          dv_acc[r][t] += pi * dos[ii * (kDh + 1) + t * 32 + lane];
          dk_acc[r][t] += dsi * qs[ii * (kDh + 1) + t * 32 + lane];
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t j = j0 + warp * kRowsPerWarp + r;
    if (j >= p.Tk) continue;
    const int64_t at = p.row(b, j, h, p.Tk);
    store_lane_dims<kDh>(dk + at, dk_acc[r], 1.0f, p.Dh, lane);
    store_lane_dims<kDh>(dv + at, dv_acc[r], 1.0f, p.Dh, lane);
  }
}

// dq: one block per (b, h, kRowTile queries); warp w owns queries
// i0 + w·kRowsPerWarp + r and steps through the keys they can see.
template <typename T, int kDh>
__global__ void __launch_bounds__(kThreads)
    flash_backward_dq_kernel(Problem p, int64_t query_tiles, const T* q, const T* k, const T* v,
                             const T* dout, const float* lse, const float* delta, T* dq) {
  constexpr int kPerLane = kDh / 32;
  extern __shared__ float shared[];
  float* ks = shared;                  // [kTile][kDh + 1]  stepped keys
  float* vs = ks + kTile * (kDh + 1);  // [kTile][kDh + 1]
  float* qs = vs + kTile * (kDh + 1);  // [kRowTile][kDh]   owned queries
  float* dos = qs + kRowTile * kDh;    // [kRowTile][kDh]   their dout
  const int64_t bh = blockIdx.x / query_tiles, b = bh / p.H, h = bh % p.H;
  const int64_t i0 = (blockIdx.x % query_tiles) * kRowTile;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  load_rows<kDh>(qs, kDh, q, p, b, h, i0, kRowTile, p.Tq);
  load_rows<kDh>(dos, kDh, dout, p, b, h, i0, kRowTile, p.Tq);

  float lse_r[kRowsPerWarp], delta_r[kRowsPerWarp], dq_acc[kRowsPerWarp][kPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = i0 + warp * kRowsPerWarp + r;
    lse_r[r] = i < p.Tq ? lse[bh * p.Tq + i] : -INFINITY;
    delta_r[r] = i < p.Tq ? delta[bh * p.Tq + i] : 0.0f;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) dq_acc[r][t] = 0.0f;
  }

  const int64_t kend = key_end(p, min(i0 + kRowTile, p.Tq));
  for (int64_t j0 = 0; j0 < kend; j0 += kTile) {
    step_tile<kDh>(ks, k, vs, kDh + 1, v, p, b, h, j0, p.Tk);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int own = warp * kRowsPerWarp + r;
      const float s = dot_row<kDh>(qs + own * kDh, ks + lane * (kDh + 1));
      const float dp = dot_row<kDh>(dos + own * kDh, vs + lane * (kDh + 1));
      const Weights wt = weights(p, p.sees(b, i0 + own, j), s, dp, lse_r[r], delta_r[r]);
      for (int jj = 0; jj < kTile; ++jj) {
        const float dsj = __shfl_sync(0xffffffffu, wt.ds, jj);
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) dq_acc[r][t] += dsj * ks[jj * (kDh + 1) + t * 32 + lane];
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = i0 + warp * kRowsPerWarp + r;
    if (i >= p.Tq) continue;
    store_lane_dims<kDh>(dq + p.row(b, i, h, p.Tq), dq_acc[r], 1.0f, p.Dh, lane);
  }
}

// Calls fn(std::integral_constant<int, kDh>) for the padded head size.
template <typename Fn>
void dispatch_head_dim(const char* op, int64_t Dh, Fn&& fn) {
  if (Dh > kMaxHeadDim) {
    throw Error(::weft::detail::concat("cuda ", op, ": head dimension Dh = ", Dh,
                                       " is larger than ", kMaxHeadDim,
                                       ", the most the CUDA flash-attention kernels support"));
  }
  if (Dh <= 32) {
    fn(std::integral_constant<int, 32>{});
  } else if (Dh <= 64) {
    fn(std::integral_constant<int, 64>{});
  } else {
    fn(std::integral_constant<int, 128>{});
  }
}

int64_t tiles(int64_t n, int64_t tile) {
  return (n + tile - 1) / tile;
}

// Launches `kernel` on `blocks` blocks with `floats` of dynamic shared memory,
// raising the kernel's limit first (the backward kernels need just over 48 KiB
// at Dh = 128).
template <typename Kernel, typename... Args>
void launch_with_shared(const char* op, Kernel kernel, int64_t blocks, size_t floats,
                        Args... args) {
  const size_t bytes = floats * sizeof(float);
  WEFT_CUDA_CALL(op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
  kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, stream(op)>>>(args...);
  WEFT_LAUNCH_CHECK(op);
}

}  // namespace

void simt_flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                                  Tensor& out) {
  const char* op = "flash_attention_forward";
  const Problem p = attention_problem(q, k, key_valid, causal, scale);
  const int64_t query_tiles = tiles(p.Tq, kRowTile), blocks = p.B * p.H * query_tiles;
  if (blocks == 0) return;
  dispatch_floating(op, q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dispatch_head_dim(op, p.Dh, [&](auto head_dim) {
      constexpr int kDh = decltype(head_dim)::value;
      flash_forward_kernel<T, kDh><<<static_cast<unsigned>(blocks), kThreads, 0, stream(op)>>>(
          p, query_tiles, ptr<T>(q), ptr<T>(k), ptr<T>(v), ptr<float>(lse), ptr<T>(out));
      WEFT_LAUNCH_CHECK("flash_forward_kernel");
    });
  });
}

void simt_flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& key_valid, bool causal, double scale,
                                   const Tensor& out, const Tensor& lse, const Tensor& dout,
                                   Tensor& dq, Tensor& dk, Tensor& dv) {
  const char* op = "flash_attention_backward";
  const Problem p = attention_problem(q, k, key_valid, causal, scale);
  const int64_t query_tiles = tiles(p.Tq, kRowTile), key_tiles = tiles(p.Tk, kRowTile);
  const int64_t rows = p.B * p.Tq * p.H;
  thread_local Tensor delta;  // (B,H,Tq) rowsum(dout ⊙ out), reused across calls
  if (rows > 0) Tensor::ensure(delta, {p.B, p.H, p.Tq}, DType::F32, Device::CUDA);
  // With no query rows nothing reads delta.
  float* delta_ptr = rows > 0 ? ptr<float>(delta) : nullptr;
  dispatch_floating(op, q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dispatch_head_dim(op, p.Dh, [&](auto head_dim) {
      constexpr int kDh = decltype(head_dim)::value;
      if (rows > 0) {
        flash_delta_kernel<T>
            <<<static_cast<unsigned>(tiles(rows, kThreads)), kThreads, 0, stream(op)>>>(
                p, ptr<T>(out), ptr<T>(dout), delta_ptr);
        WEFT_LAUNCH_CHECK("flash_delta_kernel");
      }
      if (p.B * p.H * key_tiles > 0) {
        launch_with_shared("flash_backward_dkdv_kernel", flash_backward_dkdv_kernel<T, kDh>,
                           p.B * p.H * key_tiles, backward_shared_floats<kDh>(), p, key_tiles,
                           ptr<T>(q), ptr<T>(k), ptr<T>(v), ptr<T>(dout), ptr<float>(lse),
                           delta_ptr, ptr<T>(dk), ptr<T>(dv));
      }
      if (p.B * p.H * query_tiles > 0) {
        launch_with_shared("flash_backward_dq_kernel", flash_backward_dq_kernel<T, kDh>,
                           p.B * p.H * query_tiles, backward_shared_floats<kDh>(), p, query_tiles,
                           ptr<T>(q), ptr<T>(k), ptr<T>(v), ptr<T>(dout), ptr<float>(lse),
                           delta_ptr, ptr<T>(dq));
      }
    });
  });
}

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                             Tensor& out) {
  if (cudnn_flash_attention_forward(q, k, v, key_valid, causal, scale, lse, out)) return;
  simt_flash_attention_forward(q, k, v, key_valid, causal, scale, lse, out);
}

void flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& key_valid, bool causal, double scale, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv) {
  if (cudnn_flash_attention_backward(q, k, v, key_valid, causal, scale, out, lse, dout, dq, dk,
                                     dv)) {
    return;
  }
  simt_flash_attention_backward(q, k, v, key_valid, causal, scale, out, lse, dout, dq, dk, dv);
}

}  // namespace weft::cuda
