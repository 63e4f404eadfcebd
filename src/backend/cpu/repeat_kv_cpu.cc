// Grouped-query attention's repeated key/value heads. Row r of x (one head of
// one position, Dh elements) is rows r·groups .. r·groups + groups − 1 of y,
// since (b·T + t)·Hkv·groups + j·groups + g = ((b·T + t)·Hkv + j)·groups + g.
// Forward copies bytes, so one loop serves every dtype; backward sums each
// group of rows in order, in the arithmetic type (f32 for bf16, rounded once).
//
//   x, dx (rows, Dh)   y, dy (rows·groups, Dh)

#include <cstring>

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// dx (rows, d) = Σ_g dy[r·groups + g], g in order.
template <typename S>
void sum_groups(const S* dy, S* dx, int64_t rows, int64_t groups, int64_t d) {
  using A = Arith<S>;
  using T = typename A::type;
#pragma omp parallel for if (rows * groups * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const S* first = dy + r * groups * d;
    S* out = dx + r * d;
#pragma omp simd
    for (int64_t c = 0; c < d; ++c) {
      T total = A::load(first[c]);
      for (int64_t g = 1; g < groups; ++g) total += A::load(first[g * d + c]);
      out[c] = A::store(total);
    }
  }
}

}  // namespace

void repeat_kv_forward(const Tensor& x, int64_t groups, Tensor& y) {
  const int64_t d = x.dim(3), rows = x.dim(0) * x.dim(1) * x.dim(2);
  if (rows == 0 || d == 0) return;
  const size_t row_bytes = static_cast<size_t>(d) * dtype_size(x.dtype());
  const char* in = static_cast<const char*>(x.raw());
  char* out = static_cast<char*>(y.raw());
#pragma omp parallel for if (rows * groups * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      std::memcpy(out + (r * groups + g) * row_bytes, in + r * row_bytes, row_bytes);
    }
  }
}

void repeat_kv_backward(const Tensor& dy, int64_t groups, Tensor& dx) {
  const int64_t d = dx.dim(3), rows = dx.dim(0) * dx.dim(1) * dx.dim(2);
  if (rows == 0 || d == 0) return;
  dispatch_stored("repeat_kv_backward", dy.dtype(), [&](auto zero) {
    using S = decltype(zero);
    sum_groups(stored<S>(dy), stored<S>(dx), rows, groups, d);
  });
}

}  // namespace weft::cpu
