// Flash-form attention on the CPU: the reference for the CUDA kernels. One
// task per (batch, head); a task holds one query's row of scores at a time and
// never the (Tq,Tk) matrix.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   lse (B,H,Tq) f32
//
// The backward recomputes each row's maximum and log-sum-exp from its scores
// instead of reading lse: lse is stored in f32, and an f64 reference must not
// lose 8 digits to it. A row that sees no key (lse = −inf) has output and
// gradient 0.

#include <cmath>
#include <limits>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

struct Dims {
  int64_t B, H, Tq, Tk, Dh;
  bool causal;
  // Query i sees keys [0, key_end(i)) that key_valid lets through.
  int64_t key_end(int64_t i) const {
    return causal ? std::clamp(i + 1 + Tk - Tq, int64_t{0}, Tk) : Tk;
  }
  int64_t ld() const { return H * Dh; }
  bool parallel() const { return B * H * Tq * Tk * Dh >= kParallelMin; }
};

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T sum = T(0);
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < n; ++c) sum += a[c] * b[c];
  return sum;
}

// One query row: s[j] = scale · q·k[j] for the keys it sees, −inf for the rest
// (j < lim), turned into probabilities in place. Returns the row's log-sum-exp,
// −inf when it sees no key (then s is left at −inf).
template <typename T>
double softmax_row(const Dims& d, const T* qi, const T* k, const int32_t* valid, T scale,
                   int64_t lim, T* s) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  T mx = kNegInf;
  for (int64_t j = 0; j < lim; ++j) {
    s[j] = (valid == nullptr || valid[j] != 0) ? scale * dot(qi, k + j * d.ld(), d.Dh) : kNegInf;
    mx = std::max(mx, s[j]);
  }
  if (mx == kNegInf) return -std::numeric_limits<double>::infinity();
  const double sum = exp_and_sum(s, s, lim, mx);  // exp(−inf − mx) is exactly 0
  const T inv = static_cast<T>(1.0 / sum);
#pragma omp simd
  for (int64_t j = 0; j < lim; ++j) s[j] *= inv;
  return static_cast<double>(mx) + std::log(sum);
}

template <typename T>
T* row_scratch(int64_t n) {
  thread_local std::vector<T> buffer;
  return scratch(buffer, static_cast<size_t>(n));
}

template <typename T>
void forward_head(const Dims& d, const T* q, const T* k, const T* v, const int32_t* valid, T scale,
                  float* lse, T* out) {
  T* p = row_scratch<T>(d.Tk);
  for (int64_t i = 0; i < d.Tq; ++i) {
    const int64_t lim = d.key_end(i);
    T* oi = out + i * d.ld();
    std::fill(oi, oi + d.Dh, T(0));
    const double row_lse = softmax_row(d, q + i * d.ld(), k, valid, scale, lim, p);
    lse[i] = static_cast<float>(row_lse);
    if (std::isinf(row_lse)) continue;
    for (int64_t j = 0; j < lim; ++j) {
      const T pj = p[j];
      const T* vj = v + j * d.ld();
#pragma omp simd
      for (int64_t c = 0; c < d.Dh; ++c) oi[c] += pj * vj[c];
    }
  }
}

// ds_j = p_j·(dout_i·v_j − D_i)·scale with D_i = dout_i·out_i; then
// dq_i = Σ_j ds_j·k_j, dk_j += ds_j·q_i, dv_j += p_j·dout_i.
template <typename T>
void backward_head(const Dims& d, const T* q, const T* k, const T* v, const int32_t* valid, T scale,
                   const T* out, const T* dout, T* dq, T* dk, T* dv) {
  for (int64_t j = 0; j < d.Tk; ++j) {  // dk and dv accumulate over queries
    std::fill(dk + j * d.ld(), dk + j * d.ld() + d.Dh, T(0));
    std::fill(dv + j * d.ld(), dv + j * d.ld() + d.Dh, T(0));
  }
  T* p = row_scratch<T>(d.Tk);
  for (int64_t i = 0; i < d.Tq; ++i) {
    const int64_t lim = d.key_end(i);
    const T *qi = q + i * d.ld(), *doi = dout + i * d.ld();
    T* dqi = dq + i * d.ld();
    std::fill(dqi, dqi + d.Dh, T(0));
    if (std::isinf(softmax_row(d, qi, k, valid, scale, lim, p))) continue;
    const T D = dot(doi, out + i * d.ld(), d.Dh);
    for (int64_t j = 0; j < lim; ++j) {
      const T pj = p[j];
      if (pj == T(0)) continue;  // masked, or underflowed: contributes exactly 0
      const T *kj = k + j * d.ld(), *vj = v + j * d.ld();
      const T ds = pj * (dot(doi, vj, d.Dh) - D) * scale;
      T *dkj = dk + j * d.ld(), *dvj = dv + j * d.ld();
#pragma omp simd
      for (int64_t c = 0; c < d.Dh; ++c) {
        dqi[c] += ds * kj[c];
        dkj[c] += ds * qi[c];
        dvj[c] += pj * doi[c];
      }
    }
  }
}

}  // namespace

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                             Tensor& out) {
  if (any_bf16({&q, &k, &v, &lse, &out})) {
    Widened w;
    return flash_attention_forward(w.in(q), w.in(k), w.in(v), key_valid, causal, scale,
                                   w.out(lse), w.out(out));
  }
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), causal};
  const int32_t* valid = key_valid.defined() ? key_valid.data<int32_t>() : nullptr;
  float* lp = lse.data<float>();
  dispatch_floating("flash_attention_forward", q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
    T* op = out.data<T>();
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      forward_head(d, qp + qo, kp + ko, vp + ko, valid == nullptr ? nullptr : valid + b * d.Tk,
                   static_cast<T>(scale), lp + bh * d.Tq, op + qo);
    }
  });
}

void flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& key_valid, bool causal, double scale, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv) {
  if (any_bf16({&q, &k, &v, &out, &lse, &dout, &dq, &dk, &dv})) {
    Widened w;
    return flash_attention_backward(w.in(q), w.in(k), w.in(v), key_valid, causal, scale,
                                    w.in(out), w.in(lse), w.in(dout), w.out(dq), w.out(dk),
                                    w.out(dv));
  }
  const Dims d{q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), causal};
  const int32_t* valid = key_valid.defined() ? key_valid.data<int32_t>() : nullptr;
  dispatch_floating("flash_attention_backward", q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
    const T *outp = out.data<T>(), *dop = dout.data<T>();
    T *dqp = dq.data<T>(), *dkp = dk.data<T>(), *dvp = dv.data<T>();
#pragma omp parallel for if (d.parallel()) schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const int64_t qo = b * d.Tq * d.ld() + h * d.Dh, ko = b * d.Tk * d.ld() + h * d.Dh;
      backward_head(d, qp + qo, kp + ko, vp + ko, valid == nullptr ? nullptr : valid + b * d.Tk,
                    static_cast<T>(scale), outp + qo, dop + qo, dqp + qo, dkp + ko, dvp + ko);
    }
  });
}

// The CPU kernels read masks as they are: nothing to remember.
void describe_key_mask(const Tensor&, bool) {}

}  // namespace weft::cpu
