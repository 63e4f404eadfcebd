// RMS norm over the last dimension, one row per task. The row's sum of
// squares is accumulated in double. Backward writes dx row by row and
// accumulates dgamma into a fixed number of row chunks (per-chunk partial
// sums, added in chunk order), so dgamma is race-free and does not depend on
// the thread count. y may alias x and dx may alias dy: each element is read
// before the same thread writes it.

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// S is the stored type of x, y, dy, dx and gamma (bf16: its bits); T, the
// arithmetic type Arith<S>::type, stores rstd and dgamma (f32 for bf16: the
// main gradient).

// x, y (rows, d); rstd (rows); gamma (d). rstd is rounded to T before y uses
// it, so that backward sees exactly the rstd the forward applied.
template <typename S, typename T = typename Arith<S>::type>
void forward_impl(const S* x, const S* gamma, double eps, S* y, T* rstd, int64_t rows, int64_t d) {
  using L = Arith<S>;
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const S* xr = x + r * d;
    double squares = 0.0;
#pragma omp simd reduction(+ : squares)
    for (int64_t i = 0; i < d; ++i) {
      const double v = L::load(xr[i]);
      squares += v * v;
    }
    const T s = static_cast<T>(1.0 / std::sqrt(squares / static_cast<double>(d) + eps));
    S* yr = y + r * d;
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) yr[i] = L::store(L::load(xr[i]) * s * L::load(gamma[i]));
    rstd[r] = s;
  }
}

// With xhat = x·rstd and g = dy·gamma, per row:
//   dx = rstd · (g − xhat · mean(g·xhat)),   dgamma += dy·xhat
// (rstd depends on x through mean(x²); there is no mean to subtract).
template <typename S, typename T = typename Arith<S>::type>
void backward_impl(const S* dy, const S* x, const S* gamma, const T* rstd, S* dx, T* dgamma,
                   int64_t rows, int64_t d) {
  using L = Arith<S>;
  constexpr int64_t kMaxChunks = 64;
  const int64_t chunks = std::min(rows, kMaxChunks);
  // partial[c] holds chunk c's dgamma (d).
  thread_local std::vector<double> partial_buffer;
  double* partial = scratch(partial_buffer, static_cast<size_t>(chunks * d));
  const double inv_d = 1.0 / static_cast<double>(d);
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double* pg = partial + c * d;
    std::fill(pg, pg + d, 0.0);
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) {
      const S* xr = x + r * d;
      const S* dyr = dy + r * d;
      const T s = rstd[r];
      double sum_gx = 0.0;
#pragma omp simd reduction(+ : sum_gx)
      for (int64_t i = 0; i < d; ++i) {
        sum_gx += L::load(dyr[i]) * L::load(gamma[i]) * (L::load(xr[i]) * s);
      }
      const T b = static_cast<T>(sum_gx * inv_d);
      S* dxr = dx + r * d;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) {
        const T xhat = L::load(xr[i]) * s;
        const T dyi = L::load(dyr[i]);
        dxr[i] = L::store(s * (dyi * L::load(gamma[i]) - xhat * b));
        pg[i] += dyi * xhat;
      }
    }
  }
  for (int64_t c = 0; c < chunks; ++c) {
    const double* pg = partial + c * d;
    for (int64_t i = 0; i < d; ++i) dgamma[i] += static_cast<T>(pg[i]);
  }
}

// Whether a call runs on its tensors as stored: values of one dtype, and
// rstd (and dgamma) in its arithmetic type. Other mixes are widened to f32.
bool stored_as_is(std::initializer_list<const Tensor*> values,
                  std::initializer_list<const Tensor*> arith) {
  return one_dtype(values) && all_of_dtype(arith_dtype((*values.begin())->dtype()), arith);
}

}  // namespace

void rms_norm_forward(const Tensor& x, const Tensor& gamma, double eps, Tensor& y, Tensor& rstd) {
  if (!stored_as_is({&x, &gamma, &y}, {&rstd})) {
    Widened w;
    return rms_norm_forward(w.in(x), w.in(gamma), eps, w.out(y), w.out(rstd));
  }
  const int64_t d = x.dim(-1);
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  dispatch_stored("rms_norm_forward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    forward_impl(stored<S>(x), stored<S>(gamma), eps, stored<S>(y), stored<T>(rstd), rows, d);
  });
}

void rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& rstd,
                       Tensor& dx, Tensor& dgamma) {
  if (!stored_as_is({&dy, &x, &gamma, &dx}, {&rstd, &dgamma})) {
    Widened w;
    return rms_norm_backward(w.in(dy), w.in(x), w.in(gamma), w.in(rstd), w.out(dx), w.out(dgamma));
  }
  const int64_t d = x.dim(-1);
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  dispatch_stored("rms_norm_backward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    backward_impl(stored<S>(dy), stored<S>(x), stored<S>(gamma), stored<T>(rstd), stored<S>(dx),
                  stored<T>(dgamma), rows, d);
  });
}

}  // namespace weft::cpu
