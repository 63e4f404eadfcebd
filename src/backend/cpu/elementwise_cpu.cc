// Elementwise kernels and the two reductions the optimiser needs. Each is
// one pass over memory, parallel above kParallelMin elements, allocation-free.

#include <cstring>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"
#include "weft/tensor/bf16.h"

namespace weft::cpu {

namespace {

template <typename T> void fill_impl(T* x, int64_t n, T value) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

template <typename T> void scale_impl(T* x, int64_t n, T alpha) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

// S is the stored type (bf16: its bits); the arithmetic runs in Arith<S>::type.
template <typename S>
void axpy_impl(typename Arith<S>::type alpha, const S* x, S* y, int64_t n) {
  using L = Arith<S>;
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = L::store(L::load(y[i]) + alpha * L::load(x[i]));
}

// out may alias a or b: each element is read before it is written.
template <typename S> void add_impl(const S* a, const S* b, S* out, int64_t n) {
  using L = Arith<S>;
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = L::store(L::load(a[i]) + L::load(b[i]));
}

// y (rows, cols) += bias (cols) on every row.
template <typename S> void add_bias_impl(const S* bias, S* y, int64_t rows, int64_t cols) {
  using L = Arith<S>;
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    S* row = y + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) row[c] = L::store(L::load(row[c]) + L::load(bias[c]));
  }
}

// dbias (cols) += Σ_r dy[r, :], dy stored as S, dbias as G (bf16 dy feeds
// an f32 main gradient). Threads own column ranges and walk every row in
// order, so the sum is race-free and the same for any thread count.
template <typename S, typename G>
void bias_backward_impl(const S* dy, G* dbias, int64_t rows, int64_t cols) {
  using GA = typename Arith<G>::type;
#pragma omp parallel if (rows * cols >= kParallelMin)
  {
    const std::pair<int64_t, int64_t> range =
        column_range(cols, omp_get_thread_num(), omp_get_num_threads());
    const int64_t c0 = range.first, c1 = range.second;
    thread_local std::vector<double> acc_buffer;
    double* acc = scratch(acc_buffer, static_cast<size_t>(c1 - c0));
    std::fill(acc, acc + (c1 - c0), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const S* row = dy + r * cols + c0;
#pragma omp simd
      for (int64_t c = 0; c < c1 - c0; ++c) acc[c] += Arith<S>::load(row[c]);
    }
    for (int64_t c = c0; c < c1; ++c) {
      dbias[c] = Arith<G>::store(Arith<G>::load(dbias[c]) + static_cast<GA>(acc[c - c0]));
    }
  }
}

// Σ x (or Σ x²) in double over fixed blocks whose partial sums are added in
// order: the result does not depend on the thread count.
template <bool kSquare, typename T> double blocked_sum(const T* x, int64_t n) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  thread_local std::vector<double> partial_buffer;
  double* partial = scratch(partial_buffer, static_cast<size_t>(blocks));
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(n, (b + 1) * kBlock);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b * kBlock; i < end; ++i) {
      s += kSquare ? static_cast<double>(x[i]) * x[i] : static_cast<double>(x[i]);
    }
    partial[b] = s;
  }
  double total = 0.0;
  for (int64_t b = 0; b < blocks; ++b) total += partial[b];
  return total;
}

template <typename S, typename D, typename Fn>
void convert_loop(const S* s, D* d, int64_t n, Fn f) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) d[i] = f(s[i]);
}

int64_t rows_of(const Tensor& t) { return t.dim(-1) == 0 ? 0 : t.numel() / t.dim(-1); }

}  // namespace

void fill(Tensor& x, double value) {
  if (any_bf16({&x})) {
    Widened w;
    return fill(w.out(x), value);
  }
  dispatch_floating("fill", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    fill_impl(x.data<T>(), x.numel(), static_cast<T>(value));
  });
}

void scale(Tensor& x, double alpha) {
  if (any_bf16({&x})) {
    Widened w;
    return scale(w.out(x), alpha);
  }
  dispatch_floating("scale", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    scale_impl(x.data<T>(), x.numel(), static_cast<T>(alpha));
  });
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  if (!one_dtype({&x, &y})) {
    Widened w;
    return axpy(alpha, w.in(x), w.out(y));
  }
  dispatch_stored("axpy", x.dtype(), [&](auto zero) {
    using S = decltype(zero);
    axpy_impl(static_cast<typename Arith<S>::type>(alpha), stored<S>(x), stored<S>(y),
              x.numel());
  });
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  if (!one_dtype({&a, &b, &out})) {
    Widened w;
    return add(w.in(a), w.in(b), w.out(out));
  }
  dispatch_stored("add", a.dtype(), [&](auto zero) {
    using S = decltype(zero);
    add_impl(stored<S>(a), stored<S>(b), stored<S>(out), a.numel());
  });
}

void add_bias(const Tensor& bias, Tensor& y) {
  if (!one_dtype({&bias, &y})) {
    Widened w;
    return add_bias(w.in(bias), w.out(y));
  }
  dispatch_stored("add_bias", y.dtype(), [&](auto zero) {
    using S = decltype(zero);
    add_bias_impl(stored<S>(bias), stored<S>(y), rows_of(y), y.dim(-1));
  });
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  if (dy.dtype() == DType::BF16 && dbias.dtype() == DType::F32) {  // into a main gradient
    return bias_backward_impl(stored<uint16_t>(dy), stored<float>(dbias), rows_of(dy),
                              dy.dim(-1));
  }
  if (!one_dtype({&dy, &dbias})) {
    Widened w;
    return bias_backward(w.in(dy), w.out(dbias));
  }
  dispatch_stored("bias_backward", dy.dtype(), [&](auto zero) {
    using S = decltype(zero);
    bias_backward_impl(stored<S>(dy), stored<S>(dbias), rows_of(dy), dy.dim(-1));
  });
}

void sum_squares(const Tensor& x, double& result) {
  if (any_bf16({&x})) {
    Widened w;
    return sum_squares(w.in(x), result);
  }
  dispatch_floating("sum_squares", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    result = blocked_sum<true>(x.data<T>(), x.numel());
  });
}

void sum_squares_many(const std::vector<Tensor>& xs, std::vector<double>& results) {
  for (size_t i = 0; i < xs.size(); ++i) sum_squares(xs[i], results[i]);
}

void sum(const Tensor& x, double& result) {
  if (any_bf16({&x})) {
    Widened w;
    return sum(w.in(x), result);
  }
  dispatch_floating("sum", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    result = blocked_sum<false>(x.data<T>(), x.numel());
  });
}

// f32 <-> f64 <-> bf16; a double becomes bf16 through float, as PyTorch does.
void convert(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype()) {
    std::memcpy(dst.raw(), src.raw(), src.nbytes());
    return;
  }
  const auto* s_bf16 = static_cast<const uint16_t*>(src.raw());
  auto* d_bf16 = static_cast<uint16_t*>(dst.raw());
  auto bf16_out = [](auto v) { return float_to_bf16(static_cast<float>(v)); };
  auto bf16_in = [](uint16_t v) { return bf16_to_float(v); };
  auto cast_f = [](double v) { return static_cast<float>(v); };
  auto cast_d = [](float v) { return static_cast<double>(v); };
  switch (src.dtype()) {
    case DType::F32:
      if (dst.dtype() == DType::F64) {
        return convert_loop(src.data<float>(), dst.data<double>(), n, cast_d);
      }
      return convert_loop(src.data<float>(), d_bf16, n, bf16_out);
    case DType::F64:
      if (dst.dtype() == DType::F32) {
        return convert_loop(src.data<double>(), dst.data<float>(), n, cast_f);
      }
      return convert_loop(src.data<double>(), d_bf16, n, bf16_out);
    case DType::BF16:
      if (dst.dtype() == DType::F32) return convert_loop(s_bf16, dst.data<float>(), n, bf16_in);
      return convert_loop(s_bf16, dst.data<double>(), n, bf16_in);
    default:
      throw Error(detail::concat("cpu convert: unsupported dtype ", dtype_name(src.dtype())));
  }
}

}  // namespace weft::cpu
