// Rotary position embedding: a table of the cosines and sines of the T
// positions' angles (backend/rotary_angle.h, in the arithmetic type: f32 for
// f32 and bf16, double for f64), then every row of every head turned by its
// position's angles, rows split between threads. Backward turns by the
// negated angles. y may alias x: an iteration reads x[i] and x[i + Dh/2]
// before it writes y there, and no other iteration touches them.
//
//   x, y (B,T,H,Dh)   table (T, Dh/2)

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"
#include "backend/rotary_angle.h"

namespace weft::cpu {

namespace {

struct Pow {
  template <typename T>
  T operator()(T x, T y) const {
    return std::pow(x, y);
  }
};

// cos and sin (t, half) of positions start .. start + t − 1, in T.
template <typename T>
void angle_table(int64_t start, double theta, int64_t t, int64_t half, T* cos_table, T* sin_table) {
  thread_local std::vector<T> inverse_buffer;
  T* inverse = scratch(inverse_buffer, static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    inverse[i] = rotary::inverse_frequency<T>(i, 2 * half, theta, Pow{});
  }
#pragma omp parallel for if (t * half >= kParallelMin / 8) schedule(static)
  for (int64_t p = 0; p < t; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const T angle = rotary::angle(start + p, inverse[i]);
      cos_table[p * half + i] = std::cos(angle);
      sin_table[p * half + i] = std::sin(angle);
    }
  }
}

// x, y (rows = B·T·H, 2·half); row r is at position r / heads mod t.
// sign −1 turns by −angle.
template <typename S, typename T = typename Arith<S>::type>
void rotate(const S* x, S* y, const T* cos_table, const T* sin_table, T sign, int64_t rows,
            int64_t t, int64_t heads, int64_t half) {
  using L = Arith<S>;
  const int64_t dh = 2 * half;
#pragma omp parallel for if (rows * dh >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / heads % t;
    const T* c = cos_table + p * half;
    const T* s = sin_table + p * half;
    const S* xr = x + r * dh;
    S* yr = y + r * dh;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
      const T a = L::load(xr[i]), b = L::load(xr[half + i]);
      const T sn = sign * s[i];
      yr[i] = L::store(a * c[i] - b * sn);
      yr[half + i] = L::store(b * c[i] + a * sn);
    }
  }
}

void rotary(const char* kernel, const Tensor& in, int64_t start, double theta, bool inverse,
            Tensor& out) {
  const int64_t t = in.dim(1), heads = in.dim(2), half = in.dim(3) / 2;
  const int64_t rows = in.dim(0) * t * heads;
  if (rows == 0 || half == 0) return;
  dispatch_stored(kernel, in.dtype(), [&](auto zero) {
    using S = decltype(zero);
    using T = typename Arith<S>::type;
    thread_local std::vector<T> table_buffer;
    T* cos_table = scratch(table_buffer, static_cast<size_t>(2 * t * half));
    T* sin_table = cos_table + t * half;
    angle_table(start, theta, t, half, cos_table, sin_table);
    rotate(stored<S>(in), stored<S>(out), cos_table, sin_table, inverse ? T(-1) : T(1), rows, t,
           heads, half);
  });
}

}  // namespace

void rotary_forward(const Tensor& x, int64_t start, double theta, Tensor& y) {
  rotary("rotary_forward", x, start, theta, /*inverse=*/false, y);
}

void rotary_backward(const Tensor& dy, int64_t start, double theta, Tensor& dx) {
  rotary("rotary_backward", dy, start, theta, /*inverse=*/true, dx);
}

}  // namespace weft::cpu
