// Attention on CUDA in the probabilities form: the (B,H,Tq,Tk) probabilities
// are stored, as src/backend/cpu/attention_cpu.cc does (same function, masks
// and edge cases). Kept simple: the training path on CUDA is flash attention
// (flash_attention_cuda.cu); this form serves tests and callers that want probs.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   probs, dprobs (B,H,Tq,Tk)
//
// Row kernels run one block per (b, h, query i), with warp w taking keys
// w, w + kWarps, ... (lanes across Dh for each dot product); the column kernel
// runs one block per (b, h, key j). Every sum has a fixed order.

#include <algorithm>

#include "backend/cuda/attention_problem.cuh"
#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kColumnThreads = 128;

using Problem = AttentionProblem;

// Σ_c a[c]·b[c] over Dh, lanes across c; every lane gets the result.
template <typename T>
__device__ float warp_dot(const T* a, const T* b, int64_t n, int lane) {
  float sum = 0.0f;
  for (int64_t c = lane; c < n; c += 32) sum += to_float(a[c]) * to_float(b[c]);
  return warp_sum(sum);
}

// probs row (b, h, i) = softmax of the scores of the keys query i sees (0
// elsewhere; all 0 when it sees none), then out row i = probs row · v.
// Two passes over the scores: per-warp online max and sum, then the
// probabilities; scores are recomputed rather than stored, so bf16 storage
// rounds only the final probabilities.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_forward_row_kernel(Problem p, const T* q, const T* k, const T* v, T* probs, T* out) {
  __shared__ float warp_max_s[kWarps], warp_sum_s[kWarps];
  const int64_t r = blockIdx.x, i = r % p.Tq, bh = r / p.Tq, b = bh / p.H, h = bh % p.H;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const T* qi = q + p.row(b, i, h, p.Tq);
  const int32_t* valid = p.valid == nullptr ? nullptr : p.valid + b * p.Tk;
  // Keys [0, lim) pass the causal mask (j <= i + Tk − Tq).
  const int64_t lim = p.causal ? min(max(i + 1 + p.Tk - p.Tq, int64_t{0}), p.Tk) : p.Tk;

  float m = -INFINITY, l = 0.0f;
  for (int64_t j = warp; j < lim; j += kWarps) {
    if (valid != nullptr && valid[j] == 0) continue;
    const float s = p.scale * warp_dot(qi, k + p.row(b, j, h, p.Tk), p.Dh, lane);
    if (s > m) {
      l = l * expf(m - s) + 1.0f;  // exp(−inf) = 0 on the first key
      m = s;
    } else {
      l += expf(s - m);
    }
  }
  if (lane == 0) {
    warp_max_s[warp] = m;
    warp_sum_s[warp] = l;
  }
  __syncthreads();
  float row_max = -INFINITY, row_sum = 0.0f;
  for (int w = 0; w < kWarps; ++w) row_max = fmaxf(row_max, warp_max_s[w]);
  for (int w = 0; w < kWarps; ++w) {
    if (warp_max_s[w] != -INFINITY) row_sum += warp_sum_s[w] * expf(warp_max_s[w] - row_max);
  }
  const bool seen = row_max != -INFINITY;
  const float inv = seen ? 1.0f / row_sum : 0.0f;

  T* pr = probs + r * p.Tk;
  for (int64_t j = warp; j < p.Tk; j += kWarps) {
    float prob = 0.0f;
    if (seen && j < lim && (valid == nullptr || valid[j] != 0)) {
      prob = expf(p.scale * warp_dot(qi, k + p.row(b, j, h, p.Tk), p.Dh, lane) - row_max) * inv;
    }
    if (lane == 0) pr[j] = from_float<T>(prob);
  }
  __syncthreads();  // the block's writes to the probs row are visible to it

  T* oi = out + p.row(b, i, h, p.Tq);
  for (int64_t c = threadIdx.x; c < p.Dh; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < lim; ++j) {
      acc += to_float(pr[j]) * to_float(v[p.row(b, j, h, p.Tk) + c]);
    }
    oi[c] = from_float<T>(acc);
  }
}

// Row (b, h, i) of the backward: dprobs row = ds = p·(dp − Σ_j p_j·dp_j)·scale
// with dp_j = dout_i·v_j (the mask is read from p: 0 where p is 0), then
// dq row i = ds row · k.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_backward_row_kernel(Problem p, const T* k, const T* v, const T* probs, const T* dout,
                                  T* dprobs, T* dq) {
  __shared__ float warp_part_s[kWarps];
  const int64_t r = blockIdx.x, i = r % p.Tq, bh = r / p.Tq, b = bh / p.H, h = bh % p.H;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const T* doi = dout + p.row(b, i, h, p.Tq);
  const T* pr = probs + r * p.Tk;
  T* dsr = dprobs + r * p.Tk;

  float part = 0.0f;
  for (int64_t j = warp; j < p.Tk; j += kWarps) {
    const float pj = to_float(pr[j]);
    if (pj != 0.0f) part += pj * warp_dot(doi, v + p.row(b, j, h, p.Tk), p.Dh, lane);
  }
  if (lane == 0) warp_part_s[warp] = part;
  __syncthreads();
  float row_dot = 0.0f;
  for (int w = 0; w < kWarps; ++w) row_dot += warp_part_s[w];

  for (int64_t j = warp; j < p.Tk; j += kWarps) {
    const float pj = to_float(pr[j]);
    float ds = 0.0f;
    if (pj != 0.0f) {
      ds = pj * (warp_dot(doi, v + p.row(b, j, h, p.Tk), p.Dh, lane) - row_dot) * p.scale;
    }
    if (lane == 0) dsr[j] = from_float<T>(ds);
  }
  __syncthreads();  // the block's writes to the dprobs row are visible to it

  T* dqi = dq + p.row(b, i, h, p.Tq);
  for (int64_t c = threadIdx.x; c < p.Dh; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t j = 0; j < p.Tk; ++j) {
      acc += to_float(dsr[j]) * to_float(k[p.row(b, j, h, p.Tk) + c]);
    }
    dqi[c] = from_float<T>(acc);
  }
}

// Key (b, h, j): dk_j = Σ_i ds_ij·q_i and dv_j = Σ_i p_ij·dout_i, threads across Dh.
template <typename T>
__global__ void __launch_bounds__(kColumnThreads)
    attention_backward_column_kernel(Problem p, const T* q, const T* probs, const T* dout,
                                     const T* dprobs, T* dk, T* dv) {
  const int64_t col = blockIdx.x, j = col % p.Tk, bh = col / p.Tk, b = bh / p.H, h = bh % p.H;
  const int64_t at = p.row(b, j, h, p.Tk);
  for (int64_t c = threadIdx.x; c < p.Dh; c += blockDim.x) {
    float dk_acc = 0.0f, dv_acc = 0.0f;
    for (int64_t i = 0; i < p.Tq; ++i) {
      const int64_t e = (bh * p.Tq + i) * p.Tk + j;
      const int64_t qi = p.row(b, i, h, p.Tq) + c;
      dk_acc += to_float(dprobs[e]) * to_float(q[qi]);
      dv_acc += to_float(probs[e]) * to_float(dout[qi]);
    }
    dk[at + c] = from_float<T>(dk_acc);
    dv[at + c] = from_float<T>(dv_acc);
  }
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out) {
  const char* op = "attention_forward";
  const Problem p = attention_problem(q, k, key_valid, causal, scale);
  const int64_t rows = p.B * p.H * p.Tq;
  if (rows == 0) return;
  dispatch_floating(op, q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    attention_forward_row_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream(op)>>>(
        p, ptr<T>(q), ptr<T>(k), ptr<T>(v), ptr<T>(probs), ptr<T>(out));
    WEFT_LAUNCH_CHECK("attention_forward_row_kernel");
  });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs,
                        const Tensor& dout, double scale, Tensor& dprobs, Tensor& dq, Tensor& dk,
                        Tensor& dv) {
  const char* op = "attention_backward";
  const Problem p = attention_problem(q, k, Tensor(), false, scale);
  const int64_t rows = p.B * p.H * p.Tq, columns = p.B * p.H * p.Tk;
  dispatch_floating(op, q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (rows > 0) {  // with Tk = 0 this writes dq = 0
      attention_backward_row_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream(op)>>>(
          p, ptr<T>(k), ptr<T>(v), ptr<T>(probs), ptr<T>(dout), ptr<T>(dprobs), ptr<T>(dq));
      WEFT_LAUNCH_CHECK("attention_backward_row_kernel");
    }
    if (columns > 0) {  // with Tq = 0 this writes dk = dv = 0
      attention_backward_column_kernel<T>
          <<<static_cast<unsigned>(columns), kColumnThreads, 0, stream(op)>>>(
              p, ptr<T>(q), ptr<T>(probs), ptr<T>(dout), ptr<T>(dprobs), ptr<T>(dk), ptr<T>(dv));
      WEFT_LAUNCH_CHECK("attention_backward_column_kernel");
    }
  });
}

}  // namespace weft::cuda
