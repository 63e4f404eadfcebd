// Token embeddings and positions. Forward gathers rows in parallel; the
// backward scatter-adds split the columns between threads and walk the ids in
// order, so repeated ids never race and the sums are the same for any thread
// count.

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"
#include "backend/sinusoid.h"

namespace weft::cpu {

namespace {

// table (v, d) holds global rows [row_offset, row_offset + v); ids, out (n, d).
template <typename T>
void gather(const T* table, const int32_t* ids, T scale, int64_t row_offset, T* out, int64_t n,
            int64_t v, int64_t d) {
#pragma omp parallel for if (n * d >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = ids[i] - row_offset;
    T* o = out + i * d;
    if (row < 0 || row >= v) {
      std::fill(o, o + d, T(0));
      continue;
    }
    const T* src = table + row * d;
#pragma omp simd
    for (int64_t c = 0; c < d; ++c) o[c] = scale * src[c];
  }
}

template <typename T>
void scatter_add(const T* dout, const int32_t* ids, T scale, int64_t row_offset, T* dtable,
                 int64_t n, int64_t v, int64_t d) {
#pragma omp parallel if (n * d >= kParallelMin)
  {
    const std::pair<int64_t, int64_t> range =
        column_range(d, omp_get_thread_num(), omp_get_num_threads());
    const int64_t c0 = range.first, c1 = range.second;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = ids[i] - row_offset;
      if (row < 0 || row >= v) continue;
      const T* g = dout + i * d;
      T* dst = dtable + row * d;
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) dst[c] += scale * g[c];
    }
  }
}

// x (b, t, d) += table[start + t] for every b.
template <typename T> void add_rows(const T* table, T* x, int64_t b, int64_t t, int64_t d) {
#pragma omp parallel for if (b * t * d >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < b * t; ++i) {
    const T* src = table + (i % t) * d;
    T* dst = x + i * d;
#pragma omp simd
    for (int64_t c = 0; c < d; ++c) dst[c] += src[c];
  }
}

// dtable[start + t] += Σ_b dx[b, t], one position per task, batches in order.
template <typename T> void sum_rows(const T* dx, T* dtable, int64_t b, int64_t t, int64_t d) {
#pragma omp parallel for if (b * t * d >= kParallelMin) schedule(static)
  for (int64_t p = 0; p < t; ++p) {
    T* dst = dtable + p * d;
    for (int64_t k = 0; k < b; ++k) {
      const T* src = dx + (k * t + p) * d;
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace

void embedding_forward(const Tensor& table, const Tensor& ids, double scale, int64_t row_offset,
                       Tensor& out) {
  if (any_bf16({&table, &out})) {
    Widened w;
    return embedding_forward(w.in(table), ids, scale, row_offset, w.out(out));
  }
  dispatch_floating("embedding_forward", table.dtype(), [&](auto zero) {
    using T = decltype(zero);
    gather(table.data<T>(), ids.data<int32_t>(), static_cast<T>(scale), row_offset,
           out.data<T>(), ids.numel(), table.dim(0), table.dim(1));
  });
}

void embedding_backward(const Tensor& dout, const Tensor& ids, double scale, int64_t row_offset,
                        Tensor& dtable) {
  if (any_bf16({&dout, &dtable})) {
    Widened w;
    return embedding_backward(w.in(dout), ids, scale, row_offset, w.out(dtable));
  }
  dispatch_floating("embedding_backward", dtable.dtype(), [&](auto zero) {
    using T = decltype(zero);
    scatter_add(dout.data<T>(), ids.data<int32_t>(), static_cast<T>(scale), row_offset,
                dtable.data<T>(), ids.numel(), dtable.dim(0), dtable.dim(1));
  });
}

void add_positions(const Tensor& table, int64_t start, Tensor& x) {
  if (any_bf16({&table, &x})) {
    Widened w;
    return add_positions(w.in(table), start, w.out(x));
  }
  dispatch_floating("add_positions", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const int64_t d = x.dim(2);
    add_rows(table.data<T>() + start * d, x.data<T>(), x.dim(0), x.dim(1), d);
  });
}

void add_positions_backward(const Tensor& dx, int64_t start, Tensor& dtable) {
  if (any_bf16({&dx, &dtable})) {
    Widened w;
    return add_positions_backward(w.in(dx), start, w.out(dtable));
  }
  dispatch_floating("add_positions_backward", dx.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const int64_t d = dx.dim(2);
    sum_rows(dx.data<T>(), dtable.data<T>() + start * d, dx.dim(0), dx.dim(1), d);
  });
}

// table[p, j] = sin or cos of p / 10000^(2i/D), i and which as `layout` says.
void sinusoidal_positions(Tensor& table, ops::SinusoidLayout layout) {
  if (any_bf16({&table})) {
    Widened w;
    return cpu::sinusoidal_positions(w.out(table), layout);
  }
  const int64_t rows = table.dim(0), d = table.dim(1);
  const bool halves = layout == ops::SinusoidLayout::Halves;
  const auto pow = [](double x, double y) { return std::pow(x, y); };
  dispatch_floating("sinusoidal_positions", table.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* out = table.data<T>();
#pragma omp parallel for if (rows * d >= kParallelMin) schedule(static)
    for (int64_t p = 0; p < rows; ++p) {
      for (int64_t j = 0; j < d; ++j) {
        const sinusoid::Column c = sinusoid::column(j, d, halves);
        const double angle = sinusoid::angle(p, c.i, d, pow);
        out[p * d + j] = static_cast<T>(c.sine ? std::sin(angle) : std::cos(angle));
      }
    }
  });
}

}  // namespace weft::cpu
