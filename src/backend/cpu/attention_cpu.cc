// Attention on the CPU: one task per (batch, head), each calling
// single-threaded BLAS on the head's strided slice of q, k, v (row stride
// H·Dh, so nothing is transposed or copied). Queries go in blocks of kBlock
// rows; under the causal mask a block only multiplies against the keys it can
// see, which skips about half the work when Tq = Tk.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   probs (B,H,Tq,Tk)

#include <cblas.h>

#include <limits>
#include <vector>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/onednn_matmul.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"
#include "weft/tensor/bf16.h"

namespace weft::cpu {

namespace {

constexpr int64_t kBlock = 64;

// Row-major C = alpha·op(A)·op(B) + beta·C.
void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  f32_gemm_strided(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Shapes shared by forward and backward, and the causal mask (forward only:
// backward reads the mask from probs).
struct Dims {
  int64_t B, H, Tq, Tk, Dh;
  bool causal;
  // Keys a query block [i0, i1) may see: [0, key_end(i1)).
  int64_t key_end(int64_t i1) const {
    return causal ? std::clamp(i1 + Tk - Tq, int64_t{0}, Tk) : Tk;
  }
  int64_t ld() const { return H * Dh; }
  // Tiny problems (tests, a short decode step) run on the calling thread.
  bool parallel() const { return B * H * Tq * Tk * Dh >= kParallelMin; }
};

// Row i of the scores (Tk) becomes its probabilities: keys j < lim that are
// valid take part, the rest get 0; a row that sees no key is all 0.
template <typename T> void softmax_row(T* p, int64_t lim, int64_t tk, const int32_t* valid) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  T mx = kNegInf;
  // A row that sees no key is told by counting its keys, not by mx staying
  // -inf: OpenMP starts each lane's max at the lowest finite value under
  // clang (-inf under GCC), so mx is -FLT_MAX over an all-masked row.
  int64_t keys = lim;
  if (valid != nullptr) {
    keys = 0;
#pragma omp simd reduction(max : mx) reduction(+ : keys)
    for (int64_t j = 0; j < lim; ++j) {
      p[j] = valid[j] != 0 ? p[j] : kNegInf;
      mx = p[j] > mx ? p[j] : mx;
      keys += valid[j] != 0;
    }
  } else {
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < lim; ++j) mx = p[j] > mx ? p[j] : mx;
  }
  if (keys == 0) lim = 0;
  const double sum = exp_and_sum(p, p, lim, mx);
  const T inv = lim > 0 ? static_cast<T>(1.0 / sum) : T(0);
#pragma omp simd
  for (int64_t j = 0; j < lim; ++j) p[j] *= inv;
  std::fill(p + lim, p + tk, T(0));
}

template <typename T>
void forward_head(const Dims& d, const T* q, const T* k, const T* v, const int32_t* valid,
                  T scale, T* probs, T* out) {
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0, kend = d.key_end(i1);
    T* p = probs + i0 * d.Tk;
    if (kend > 0) {  // S = scale · Q·Kᵀ over the keys the block can see
      blas(false, true, rows, kend, d.Dh, scale, q + i0 * d.ld(), d.ld(), k, d.ld(), T(0), p,
           d.Tk);
    }
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t lim = d.causal ? std::clamp(i + 1 + d.Tk - d.Tq, int64_t{0}, kend) : d.Tk;
      softmax_row(probs + i * d.Tk, lim, d.Tk, valid);
    }
    if (kend > 0) {  // out = P·V
      blas(false, false, rows, d.Dh, kend, T(1), p, d.Tk, v, d.ld(), T(0), out + i0 * d.ld(),
           d.ld());
    } else {
      for (int64_t i = i0; i < i1; ++i) std::fill(out + i * d.ld(), out + i * d.ld() + d.Dh, T(0));
    }
  }
}

// The backward pass is not told the mask; it reads it from probs instead: a
// query block only multiplies against keys up to the last one any of its rows
// gives a nonzero probability (the rest contribute exactly 0). Only those
// columns of the dprobs scratch are written.
template <typename T> int64_t seen_keys(const T* p, int64_t rows, int64_t tk) {
  int64_t kend = 0;
  for (int64_t i = 0; i < rows; ++i) {
    int64_t j = tk;
    while (j > kend && p[i * tk + j - 1] == T(0)) --j;
    kend = std::max(kend, j);
  }
  return kend;
}

template <typename T>
void backward_head(const Dims& d, const T* q, const T* k, const T* v, const T* probs,
                   const T* dout, T scale, T* dprobs, T* dq, T* dk, T* dv) {
  for (int64_t j = 0; j < d.Tk; ++j) {  // dk and dv accumulate over query blocks
    std::fill(dk + j * d.ld(), dk + j * d.ld() + d.Dh, T(0));
    std::fill(dv + j * d.ld(), dv + j * d.ld() + d.Dh, T(0));
  }
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0;
    const T* p = probs + i0 * d.Tk;
    const int64_t kend = seen_keys(p, rows, d.Tk);
    T* dqb = dq + i0 * d.ld();
    if (kend == 0) {
      for (int64_t i = 0; i < rows; ++i) std::fill(dqb + i * d.ld(), dqb + i * d.ld() + d.Dh, T(0));
      continue;
    }
    T* ds = dprobs + i0 * d.Tk;
    const T* dob = dout + i0 * d.ld();
    // dP = dO·Vᵀ, then dS = P∘(dP − rowsum(dP∘P))·scale in place.
    blas(false, true, rows, kend, d.Dh, T(1), dob, d.ld(), v, d.ld(), T(0), ds, d.Tk);
    for (int64_t i = 0; i < rows; ++i) {
      const T* pr = p + i * d.Tk;
      T* dr = ds + i * d.Tk;
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < kend; ++j) dot += dr[j] * pr[j];
      const T c = static_cast<T>(dot);
#pragma omp simd
      for (int64_t j = 0; j < kend; ++j) dr[j] = pr[j] * (dr[j] - c) * scale;
    }
    // dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO
    blas(false, false, rows, d.Dh, kend, T(1), ds, d.Tk, k, d.ld(), T(0), dqb, d.ld());
    blas(true, false, kend, d.Dh, rows, T(1), ds, d.Tk, q + i0 * d.ld(), d.ld(), T(1), dk, d.ld());
    blas(true, false, kend, d.Dh, rows, T(1), p, d.Tk, dob, d.ld(), T(1), dv, d.ld());
  }
}

// bf16 tensors where the processor multiplies bf16 (onednn_matmul.h): the
// same blocks, with the products on bf16 operands and f32 accumulation; the
// scores, the softmax and dS are f32, rounded once where a product or the
// caller reads them (probs, dS, out, dq), and dk, dv sum over the query
// blocks in f32 before their one rounding.
using bf16_t = uint16_t;

void bf16_product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const bf16_t* a,
                  int64_t lda, const bf16_t* b, int64_t ldb, float beta, void* c, int64_t ldc,
                  bool f32_c) {
  bf16_gemm_strided(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, f32_c);
}

void round_row(const float* src, bf16_t* dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = float_to_bf16(src[j]);
}

void forward_head_bf16(const Dims& d, const bf16_t* q, const bf16_t* k, const bf16_t* v,
                       const int32_t* valid, float scale, bf16_t* probs, bf16_t* out) {
  thread_local std::vector<float> scores_buffer;
  float* scores = scratch(scores_buffer, static_cast<size_t>(kBlock * d.Tk));
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0, kend = d.key_end(i1);
    if (kend > 0) {  // S = scale · Q·Kᵀ over the keys the block can see
      bf16_product(false, true, rows, kend, d.Dh, scale, q + i0 * d.ld(), d.ld(), k, d.ld(), 0.0f,
                   scores, d.Tk, true);
    }
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t lim = d.causal ? std::clamp(i + 1 + d.Tk - d.Tq, int64_t{0}, kend) : d.Tk;
      float* row = scores + (i - i0) * d.Tk;
      softmax_row(row, lim, d.Tk, valid);
      round_row(row, probs + i * d.Tk, d.Tk);
    }
    if (kend > 0) {  // out = P·V
      bf16_product(false, false, rows, d.Dh, kend, 1.0f, probs + i0 * d.Tk, d.Tk, v, d.ld(), 0.0f,
                   out + i0 * d.ld(), d.ld(), false);
    } else {
      for (int64_t i = i0; i < i1; ++i) std::fill(out + i * d.ld(), out + i * d.ld() + d.Dh, 0);
    }
  }
}

void backward_head_bf16(const Dims& d, const bf16_t* q, const bf16_t* k, const bf16_t* v,
                        const bf16_t* probs, const bf16_t* dout, float scale, bf16_t* dprobs,
                        bf16_t* dq, bf16_t* dk, bf16_t* dv) {
  thread_local std::vector<float> dp_buffer, dkv_buffer;
  float* dp = scratch(dp_buffer, static_cast<size_t>(kBlock * d.Tk));
  float* dk32 = scratch(dkv_buffer, static_cast<size_t>(2 * d.Tk * d.Dh));
  float* dv32 = dk32 + d.Tk * d.Dh;
  std::fill(dk32, dk32 + 2 * d.Tk * d.Dh, 0.0f);
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0;
    const bf16_t* p = probs + i0 * d.Tk;
    const int64_t kend = seen_keys(p, rows, d.Tk);
    bf16_t* dqb = dq + i0 * d.ld();
    if (kend == 0) {
      for (int64_t i = 0; i < rows; ++i) std::fill(dqb + i * d.ld(), dqb + i * d.ld() + d.Dh, 0);
      continue;
    }
    bf16_t* ds = dprobs + i0 * d.Tk;
    const bf16_t* dob = dout + i0 * d.ld();
    // dP = dO·Vᵀ in f32, then dS = P∘(dP − rowsum(dP∘P))·scale, rounded.
    bf16_product(false, true, rows, kend, d.Dh, 1.0f, dob, d.ld(), v, d.ld(), 0.0f, dp, d.Tk,
                 true);
    for (int64_t i = 0; i < rows; ++i) {
      const bf16_t* pr = p + i * d.Tk;
      const float* dr = dp + i * d.Tk;
      double dot = 0.0;
      for (int64_t j = 0; j < kend; ++j) dot += dr[j] * bf16_to_float(pr[j]);
      const float c = static_cast<float>(dot);
      for (int64_t j = 0; j < kend; ++j) {
        ds[i * d.Tk + j] = float_to_bf16(bf16_to_float(pr[j]) * (dr[j] - c) * scale);
      }
    }
    // dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO
    bf16_product(false, false, rows, d.Dh, kend, 1.0f, ds, d.Tk, k, d.ld(), 0.0f, dqb, d.ld(),
                 false);
    bf16_product(true, false, kend, d.Dh, rows, 1.0f, ds, d.Tk, q + i0 * d.ld(), d.ld(), 1.0f,
                 dk32, d.Dh, true);
    bf16_product(true, false, kend, d.Dh, rows, 1.0f, p, d.Tk, dob, d.ld(), 1.0f, dv32, d.Dh,
                 true);
  }
  for (int64_t j = 0; j < d.Tk; ++j) {
    round_row(dk32 + j * d.Dh, dk + j * d.ld(), d.Dh);
    round_row(dv32 + j * d.Dh, dv + j * d.ld(), d.Dh);
  }
}

// Whether every tensor is bf16 and the processor multiplies bf16.
bool native_bf16(std::initializer_list<const Tensor*> tensors) {
  if (!bf16_gemm_is_native()) return false;
  for (const Tensor* t : tensors) {
    if (t->dtype() != DType::BF16) return false;
  }
  return true;
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out) {
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), causal};
  const int32_t* valid = key_valid.defined() ? key_valid.data<int32_t>() : nullptr;
  if (native_bf16({&q, &k, &v, &probs, &out})) {
    const auto *qp = static_cast<const bf16_t*>(q.raw()), *kp = static_cast<const bf16_t*>(k.raw()),
               *vp = static_cast<const bf16_t*>(v.raw());
    auto *pp = static_cast<bf16_t*>(probs.raw()), *op = static_cast<bf16_t*>(out.raw());
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      forward_head_bf16(d, qp + qo, kp + ko, vp + ko, valid == nullptr ? nullptr : valid + b * d.Tk,
                        static_cast<float>(scale), pp + bh * d.Tq * d.Tk, op + qo);
    }
    return;
  }
  if (any_bf16({&q, &k, &v, &probs, &out})) {
    Widened w;
    return attention_forward(w.in(q), w.in(k), w.in(v), key_valid, causal, scale, w.out(probs),
                             w.out(out));
  }
  dispatch_floating("attention_forward", q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
    T *pp = probs.data<T>(), *op = out.data<T>();
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      forward_head(d, qp + qo, kp + ko, vp + ko, valid == nullptr ? nullptr : valid + b * d.Tk,
                   static_cast<T>(scale), pp + bh * d.Tq * d.Tk, op + qo);
    }
  });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs,
                        const Tensor& dout, double scale, Tensor& dprobs, Tensor& dq, Tensor& dk,
                        Tensor& dv) {
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), false};
  if (d.Tq == 0 || d.Tk == 0) {  // nothing attends: every gradient is 0
    dq.zero();
    dk.zero();
    dv.zero();
    return;
  }
  if (native_bf16({&q, &k, &v, &probs, &dout, &dprobs, &dq, &dk, &dv})) {
    const auto *qp = static_cast<const bf16_t*>(q.raw()), *kp = static_cast<const bf16_t*>(k.raw()),
               *vp = static_cast<const bf16_t*>(v.raw());
    const auto *pp = static_cast<const bf16_t*>(probs.raw()),
               *dop = static_cast<const bf16_t*>(dout.raw());
    auto *dpp = static_cast<bf16_t*>(dprobs.raw()), *dqp = static_cast<bf16_t*>(dq.raw()),
         *dkp = static_cast<bf16_t*>(dk.raw()), *dvp = static_cast<bf16_t*>(dv.raw());
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      backward_head_bf16(d, qp + qo, kp + ko, vp + ko, pp + bh * d.Tq * d.Tk, dop + qo,
                         static_cast<float>(scale), dpp + bh * d.Tq * d.Tk, dqp + qo, dkp + ko,
                         dvp + ko);
    }
    return;
  }
  if (any_bf16({&q, &k, &v, &probs, &dout, &dprobs, &dq, &dk, &dv})) {
    Widened w;
    return attention_backward(w.in(q), w.in(k), w.in(v), w.in(probs), w.in(dout), scale,
                              w.out(dprobs), w.out(dq), w.out(dk), w.out(dv));
  }
  dispatch_floating("attention_backward", q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
    const T *pp = probs.data<T>(), *dop = dout.data<T>();
    T *dpp = dprobs.data<T>(), *dqp = dq.data<T>(), *dkp = dk.data<T>(), *dvp = dv.data<T>();
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      backward_head(d, qp + qo, kp + ko, vp + ko, pp + bh * d.Tq * d.Tk, dop + qo,
                    static_cast<T>(scale), dpp + bh * d.Tq * d.Tk, dqp + qo, dkp + ko, dvp + ko);
    }
  });
}

}  // namespace weft::cpu
