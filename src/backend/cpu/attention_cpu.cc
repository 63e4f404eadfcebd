// Attention on the CPU: one task per (batch, head), each calling
// single-threaded GEMMs on the head's strided slice of q, k, v (row stride
// H·Dh, so nothing is transposed or copied). Queries go in blocks of kBlock
// rows; under the causal mask a block only multiplies against the keys it can
// see, which skips about half the work when Tq = Tk.
//
// One templated path serves f32, f64 and bf16 storage (S). bf16 runs where
// the processor multiplies bf16 (onednn_matmul.h): the products take bf16
// operands and accumulate in f32; the scores, the softmax and dS are f32,
// rounded once where a product or the caller reads them (probs, dS, out,
// dq); dk and dv sum over the query blocks in f32 before their one rounding.
// Elsewhere bf16 is widened to f32 for the whole call (widened.h).
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   probs (B,H,Tq,Tk)

#include <limits>
#include <type_traits>
#include <vector>

#include "backend/cpu/cblas_interface.h"
#include "backend/cpu/cpu_common.h"
#include "backend/cpu/onednn_matmul.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

constexpr int64_t kBlock = 64;

using bf16_t = uint16_t;

// Row-major C = alpha·op(A)·op(B) + beta·C on the stored type, accumulated
// in its arithmetic type; C is that type (scores, sums) or the stored one.
void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  f32_gemm_strided(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
             int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const bf16_t* a,
             int64_t lda, const bf16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  bf16_gemm_strided(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true);
}
void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const bf16_t* a,
             int64_t lda, const bf16_t* b, int64_t ldb, float beta, bf16_t* c, int64_t ldc) {
  bf16_gemm_strided(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false);
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
template <typename T>
void softmax_row(T* p, int64_t lim, int64_t tk, const int32_t* valid) {
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

// S is the stored type; scores and probabilities are A = Arith<S>::type. A
// wide S (bf16) computes the scores in scratch and rounds them into probs.
template <typename S>
void forward_head(const Dims& d, const S* q, const S* k, const S* v, const int32_t* valid,
                  typename Arith<S>::type scale, S* probs, S* out) {
  using A = typename Arith<S>::type;
  constexpr bool kWide = !std::is_same_v<S, A>;
  thread_local std::vector<A> scores_buffer;
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0, kend = d.key_end(i1);
    A* scores;
    if constexpr (kWide) {
      scores = scratch(scores_buffer, static_cast<size_t>(kBlock * d.Tk));
    } else {
      scores = probs + i0 * d.Tk;
    }
    if (kend > 0) {  // S = scale · Q·Kᵀ over the keys the block can see
      product(false, true, rows, kend, d.Dh, scale, q + i0 * d.ld(), d.ld(), k, d.ld(), A(0),
              scores, d.Tk);
    }
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t lim = d.causal ? std::clamp(i + 1 + d.Tk - d.Tq, int64_t{0}, kend) : d.Tk;
      A* row = scores + (i - i0) * d.Tk;
      softmax_row(row, lim, d.Tk, valid);
      if constexpr (kWide) {
        S* stored = probs + i * d.Tk;
#pragma omp simd
        for (int64_t j = 0; j < d.Tk; ++j) stored[j] = Arith<S>::store(row[j]);
      }
    }
    if (kend > 0) {  // out = P·V
      product(false, false, rows, d.Dh, kend, A(1), probs + i0 * d.Tk, d.Tk, v, d.ld(), A(0),
              out + i0 * d.ld(), d.ld());
    } else {
      for (int64_t i = i0; i < i1; ++i) std::fill(out + i * d.ld(), out + i * d.ld() + d.Dh, S(0));
    }
  }
}

// The backward pass is not told the mask; it reads it from probs instead: a
// query block only multiplies against keys up to the last one any of its rows
// gives a nonzero probability (the rest contribute exactly 0). Only those
// columns of the dprobs scratch are written.
template <typename T>
int64_t seen_keys(const T* p, int64_t rows, int64_t tk) {
  int64_t kend = 0;
  for (int64_t i = 0; i < rows; ++i) {
    int64_t j = tk;
    while (j > kend && p[i * tk + j - 1] == T(0)) --j;
    kend = std::max(kend, j);
  }
  return kend;
}

template <typename S>
void backward_head(const Dims& d, const S* q, const S* k, const S* v, const S* probs, const S* dout,
                   typename Arith<S>::type scale, S* dprobs, S* dq, S* dk, S* dv) {
  using A = typename Arith<S>::type;
  constexpr bool kWide = !std::is_same_v<S, A>;
  // dk and dv accumulate over query blocks: in place, or (wide) in scratch.
  thread_local std::vector<A> dp_buffer, dkv_buffer;
  A *dk_sum, *dv_sum;
  int64_t ld_sum;
  if constexpr (kWide) {
    dk_sum = scratch(dkv_buffer, static_cast<size_t>(2 * d.Tk * d.Dh));
    dv_sum = dk_sum + d.Tk * d.Dh;
    ld_sum = d.Dh;
  } else {
    dk_sum = dk, dv_sum = dv, ld_sum = d.ld();
  }
  for (int64_t j = 0; j < d.Tk; ++j) {
    std::fill(dk_sum + j * ld_sum, dk_sum + j * ld_sum + d.Dh, A(0));
    std::fill(dv_sum + j * ld_sum, dv_sum + j * ld_sum + d.Dh, A(0));
  }
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kBlock) {
    const int64_t i1 = std::min(d.Tq, i0 + kBlock), rows = i1 - i0;
    const S* p = probs + i0 * d.Tk;
    const int64_t kend = seen_keys(p, rows, d.Tk);
    S* dqb = dq + i0 * d.ld();
    if (kend == 0) {
      for (int64_t i = 0; i < rows; ++i) std::fill(dqb + i * d.ld(), dqb + i * d.ld() + d.Dh, S(0));
      continue;
    }
    S* ds = dprobs + i0 * d.Tk;
    A* dp;
    if constexpr (kWide) {
      dp = scratch(dp_buffer, static_cast<size_t>(kBlock * d.Tk));
    } else {
      dp = ds;
    }
    const S* dob = dout + i0 * d.ld();
    // dP = dO·Vᵀ, then dS = P∘(dP − rowsum(dP∘P))·scale (in place unless wide).
    product(false, true, rows, kend, d.Dh, A(1), dob, d.ld(), v, d.ld(), A(0), dp, d.Tk);
    for (int64_t i = 0; i < rows; ++i) {
      const S* pr = p + i * d.Tk;
      const A* dr = dp + i * d.Tk;
      S* dsr = ds + i * d.Tk;
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < kend; ++j) dot += dr[j] * Arith<S>::load(pr[j]);
      const A c = static_cast<A>(dot);
#pragma omp simd
      for (int64_t j = 0; j < kend; ++j) {
        dsr[j] = Arith<S>::store(Arith<S>::load(pr[j]) * (dr[j] - c) * scale);
      }
    }
    // dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO
    product(false, false, rows, d.Dh, kend, A(1), ds, d.Tk, k, d.ld(), A(0), dqb, d.ld());
    product(true, false, kend, d.Dh, rows, A(1), ds, d.Tk, q + i0 * d.ld(), d.ld(), A(1), dk_sum,
            ld_sum);
    product(true, false, kend, d.Dh, rows, A(1), p, d.Tk, dob, d.ld(), A(1), dv_sum, ld_sum);
  }
  if constexpr (kWide) {
    for (int64_t j = 0; j < d.Tk; ++j) {
      for (int64_t c = 0; c < d.Dh; ++c) {
        dk[j * d.ld() + c] = Arith<S>::store(dk_sum[j * d.Dh + c]);
        dv[j * d.ld() + c] = Arith<S>::store(dv_sum[j * d.Dh + c]);
      }
    }
  }
}

// Every head of the batch, in parallel, on stored type S.
template <typename S>
void forward_heads(const Dims& d, const Tensor& q, const Tensor& k, const Tensor& v,
                   const int32_t* valid, double scale, Tensor& probs, Tensor& out) {
  const auto *qp = static_cast<const S*>(q.raw()), *kp = static_cast<const S*>(k.raw()),
             *vp = static_cast<const S*>(v.raw());
  auto *pp = static_cast<S*>(probs.raw()), *op = static_cast<S*>(out.raw());
#pragma omp parallel for if (d.parallel()) schedule(static)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
    forward_head(d, qp + qo, kp + ko, vp + ko, valid == nullptr ? nullptr : valid + b * d.Tk,
                 static_cast<typename Arith<S>::type>(scale), pp + bh * d.Tq * d.Tk, op + qo);
  }
}

template <typename S>
void backward_heads(const Dims& d, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& probs, const Tensor& dout, double scale, Tensor& dprobs,
                    Tensor& dq, Tensor& dk, Tensor& dv) {
  const auto *qp = static_cast<const S*>(q.raw()), *kp = static_cast<const S*>(k.raw()),
             *vp = static_cast<const S*>(v.raw());
  const auto *pp = static_cast<const S*>(probs.raw()), *dop = static_cast<const S*>(dout.raw());
  auto *dpp = static_cast<S*>(dprobs.raw()), *dqp = static_cast<S*>(dq.raw()),
       *dkp = static_cast<S*>(dk.raw()), *dvp = static_cast<S*>(dv.raw());
#pragma omp parallel for if (d.parallel()) schedule(static)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t b = bh / d.H, h = bh % d.H;
    const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
    backward_head(d, qp + qo, kp + ko, vp + ko, pp + bh * d.Tq * d.Tk, dop + qo,
                  static_cast<typename Arith<S>::type>(scale), dpp + bh * d.Tq * d.Tk, dqp + qo,
                  dkp + ko, dvp + ko);
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
    return forward_heads<bf16_t>(d, q, k, v, valid, scale, probs, out);
  }
  if (any_bf16({&q, &k, &v, &probs, &out})) {
    Widened w;
    return attention_forward(w.in(q), w.in(k), w.in(v), key_valid, causal, scale, w.out(probs),
                             w.out(out));
  }
  dispatch_floating("attention_forward", q.dtype(), [&](auto zero) {
    forward_heads<decltype(zero)>(d, q, k, v, valid, scale, probs, out);
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
    return backward_heads<bf16_t>(d, q, k, v, probs, dout, scale, dprobs, dq, dk, dv);
  }
  if (any_bf16({&q, &k, &v, &probs, &dout, &dprobs, &dq, &dk, &dv})) {
    Widened w;
    return attention_backward(w.in(q), w.in(k), w.in(v), w.in(probs), w.in(dout), scale,
                              w.out(dprobs), w.out(dq), w.out(dk), w.out(dv));
  }
  dispatch_floating("attention_backward", q.dtype(), [&](auto zero) {
    backward_heads<decltype(zero)>(d, q, k, v, probs, dout, scale, dprobs, dq, dk, dv);
  });
}

}  // namespace weft::cpu
