// Layer norm over the last dimension, one row per task. Row statistics are
// accumulated in double. The fused residual add writes a row's sum, then
// normalises it with the same row function, so it equals add followed by
// layer_norm_forward bit for bit. Backward writes dx row by row and
// accumulates the parameter gradients into a fixed number of row chunks
// (per-chunk partial sums, added in chunk order), so dgamma and dbeta are
// race-free and do not depend on the thread count.

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// S is the stored type of x, y, dy, dx, gamma and beta (bf16: its bits); T,
// the arithmetic type Arith<S>::type, stores the row statistics and the
// parameter gradients (f32 for bf16: the main gradients).

// One row: xr, yr (d); the statistics are rounded to T before y uses them,
// so that backward sees exactly the mean and rstd the forward applied.
template <typename S, typename T = typename Arith<S>::type>
void normalize_row(const S* xr, const S* gamma, const S* beta, double eps, S* yr, T& mean,
                   T& rstd, int64_t d) {
  using L = Arith<S>;
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < d; ++i) sum += L::load(xr[i]);
  const double mu = sum / static_cast<double>(d);
  double sq = 0.0;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < d; ++i) {
    const double c = L::load(xr[i]) - mu;
    sq += c * c;
  }
  const double rs = 1.0 / std::sqrt(sq / static_cast<double>(d) + eps);
  const T m = static_cast<T>(mu), s = static_cast<T>(rs);
#pragma omp simd
  for (int64_t i = 0; i < d; ++i) {
    yr[i] = L::store((L::load(xr[i]) - m) * s * L::load(gamma[i]) + L::load(beta[i]));
  }
  mean = m;
  rstd = s;
}

// x, y (rows, d); mean, rstd (rows); gamma, beta (d).
template <typename S, typename T = typename Arith<S>::type>
void forward_impl(const S* x, const S* gamma, const S* beta, double eps, S* y, T* mean, T* rstd,
                  int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    normalize_row(x + r * d, gamma, beta, eps, y + r * d, mean[r], rstd[r], d);
  }
}

// a, b, sum, y (rows, d); sum may alias a (each element is read before it is
// written, by the same thread). The norm reads the sum as stored (rounded,
// for bf16): backward's layer_norm_backward takes that sum as its x.
template <typename S, typename T = typename Arith<S>::type>
void add_forward_impl(const S* a, const S* b, const S* gamma, const S* beta, double eps, S* sum,
                      S* y, T* mean, T* rstd, int64_t rows, int64_t d) {
  using L = Arith<S>;
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const S* ar = a + r * d;
    const S* br = b + r * d;
    S* sr = sum + r * d;
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) sr[i] = L::store(L::load(ar[i]) + L::load(br[i]));
    normalize_row(sr, gamma, beta, eps, y + r * d, mean[r], rstd[r], d);
  }
}

// With xhat = (x − mean)·rstd and g = dy·gamma, per row:
//   dx = rstd · (g − mean(g) − xhat · mean(g·xhat))
//   dgamma += dy·xhat,   dbeta += dy
template <typename S, typename T = typename Arith<S>::type>
void backward_impl(const S* dy, const S* x, const S* gamma, const T* mean, const T* rstd, S* dx,
                   T* dgamma, T* dbeta, int64_t rows, int64_t d) {
  using L = Arith<S>;
  constexpr int64_t kMaxChunks = 64;
  const int64_t chunks = std::min(rows, kMaxChunks);
  // partial[c] holds chunk c's (dgamma (d), dbeta (d)).
  thread_local std::vector<double> partial_buffer;
  double* partial = scratch(partial_buffer, static_cast<size_t>(chunks * 2 * d));
  const double inv_d = 1.0 / static_cast<double>(d);
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double* pg = partial + c * 2 * d;
    double* pb = pg + d;
    std::fill(pg, pg + 2 * d, 0.0);
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) {
      const S* xr = x + r * d;
      const S* dyr = dy + r * d;
      const T m = mean[r], s = rstd[r];
      double sum_g = 0.0, sum_gx = 0.0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
      for (int64_t i = 0; i < d; ++i) {
        const T g = L::load(dyr[i]) * L::load(gamma[i]);
        sum_g += g;
        sum_gx += g * ((L::load(xr[i]) - m) * s);
      }
      const T a = static_cast<T>(sum_g * inv_d), b = static_cast<T>(sum_gx * inv_d);
      S* dxr = dx + r * d;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) {
        const T xhat = (L::load(xr[i]) - m) * s;
        const T dyi = L::load(dyr[i]);
        dxr[i] = L::store(s * (dyi * L::load(gamma[i]) - a - xhat * b));
        pg[i] += dyi * xhat;
        pb[i] += dyi;
      }
    }
  }
  for (int64_t c = 0; c < chunks; ++c) {
    const double* pg = partial + c * 2 * d;
    const double* pb = pg + d;
    for (int64_t i = 0; i < d; ++i) {
      dgamma[i] += static_cast<T>(pg[i]);
      dbeta[i] += static_cast<T>(pb[i]);
    }
  }
}

// Whether a call runs on its tensors as stored: values of one dtype and
// statistics (and parameter gradients) in its arithmetic type. Other mixes
// are widened to f32.
bool stored_as_is(std::initializer_list<const Tensor*> values,
                  std::initializer_list<const Tensor*> arith) {
  return one_dtype(values) && all_of_dtype(arith_dtype((*values.begin())->dtype()), arith);
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor& y, Tensor& mean, Tensor& rstd) {
  if (!stored_as_is({&x, &gamma, &beta, &y}, {&mean, &rstd})) {
    Widened w;
    return layer_norm_forward(w.in(x), w.in(gamma), w.in(beta), eps, w.out(y), w.out(mean),
                              w.out(rstd));
  }
  const int64_t d = x.dim(-1);
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  dispatch_stored("layer_norm_forward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    forward_impl(stored<S>(x), stored<S>(gamma), stored<S>(beta), eps, stored<S>(y),
                 stored<T>(mean), stored<T>(rstd), rows, d);
  });
}

void add_layer_norm_forward(const Tensor& a, const Tensor& b, const Tensor& gamma,
                            const Tensor& beta, double eps, Tensor& sum, Tensor& y, Tensor& mean,
                            Tensor& rstd) {
  if (!stored_as_is({&a, &b, &gamma, &beta, &sum, &y}, {&mean, &rstd})) {
    cpu::add(a, b, sum);
    return cpu::layer_norm_forward(sum, gamma, beta, eps, y, mean, rstd);
  }
  const int64_t d = a.dim(-1);
  const int64_t rows = d == 0 ? 0 : a.numel() / d;
  dispatch_stored("add_layer_norm_forward", a.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    add_forward_impl(stored<S>(a), stored<S>(b), stored<S>(gamma), stored<S>(beta), eps,
                     stored<S>(sum), stored<S>(y), stored<T>(mean), stored<T>(rstd), rows, d);
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  if (!stored_as_is({&dy, &x, &gamma, &dx}, {&mean, &rstd, &dgamma, &dbeta})) {
    Widened w;
    return layer_norm_backward(w.in(dy), w.in(x), w.in(gamma), w.in(mean), w.in(rstd), w.out(dx),
                               w.out(dgamma), w.out(dbeta));
  }
  const int64_t d = x.dim(-1);
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  dispatch_stored("layer_norm_backward", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    backward_impl(stored<S>(dy), stored<S>(x), stored<S>(gamma), stored<T>(mean),
                  stored<T>(rstd), stored<S>(dx), stored<T>(dgamma), stored<T>(dbeta), rows, d);
  });
}

}  // namespace weft::cpu
