// Attention on the CPU: one task per (batch, head), each calling
// single-threaded BLAS on the head's strided slice of q, k, v (row stride
// H·Dh, so nothing is transposed or copied). Queries go in blocks of kBlock
// rows; under the causal mask a block only multiplies against the keys it can
// see, which skips about half the work when Tq = Tk.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   probs (B,H,Tq,Tk)

#include <cblas.h>

#include <limits>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

constexpr int64_t kBlock = 64;

// Row-major C = alpha·op(A)·op(B) + beta·C.
void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
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

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_valid,
                       bool causal, double scale, Tensor& probs, Tensor& out) {
  if (any_bf16({&q, &k, &v, &probs, &out})) {
    Widened w;
    return attention_forward(w.in(q), w.in(k), w.in(v), key_valid, causal, scale, w.out(probs),
                             w.out(out));
  }
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), causal};
  const int32_t* valid = key_valid.defined() ? key_valid.data<int32_t>() : nullptr;
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
  if (any_bf16({&q, &k, &v, &probs, &dout, &dprobs, &dq, &dk, &dv})) {
    Widened w;
    return attention_backward(w.in(q), w.in(k), w.in(v), w.in(probs), w.in(dout), scale,
                              w.out(dprobs), w.out(dq), w.out(dk), w.out(dv));
  }
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), false};
  if (d.Tq == 0 || d.Tk == 0) {  // nothing attends: every gradient is 0
    dq.zero();
    dk.zero();
    dv.zero();
    return;
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
