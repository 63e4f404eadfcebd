// Softmax cross-entropy with label smoothing, one row per task. The
// log-softmax is max-subtracted; sums are accumulated in double. dlogits may
// alias logits: each row's loss is formed from values read before the row is
// overwritten with the gradient.

#include <limits>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {

namespace {

// logits, dlogits (n, v); targets, losses (n). dlogits null: loss only.
// Returns the first row whose target is neither in [0, v) nor ignored, or -1.
template <typename T>
int64_t cross_entropy_impl(const T* logits, const int32_t* targets, int64_t ignore_index,
                           double eps, double grad_scale, T* losses, T* dlogits, int64_t n,
                           int64_t v) {
  int64_t bad_row = std::numeric_limits<int64_t>::max();
  const T smooth = static_cast<T>(eps / static_cast<double>(v));
#pragma omp parallel for if (n * v >= kParallelMin / 4) schedule(static) reduction(min : bad_row)
  for (int64_t r = 0; r < n; ++r) {
    const T* x = logits + r * v;
    T* dx = dlogits == nullptr ? nullptr : dlogits + r * v;
    const int64_t t = targets[r];
    if (t == ignore_index || t < 0 || t >= v) {
      if (t != ignore_index) bad_row = std::min(bad_row, r);
      losses[r] = T(0);
      if (dx != nullptr) std::fill(dx, dx + v, T(0));
      continue;
    }
    T mx;
    double sum_x;
    max_and_sum(x, v, mx, sum_x);
    const double x_t = x[t];
    const double sum_e = exp_and_sum(x, dx, v, mx);
    const double lse = static_cast<double>(mx) + std::log(sum_e);
    const double mean_x = sum_x / static_cast<double>(v);
    losses[r] = static_cast<T>((1.0 - eps) * (lse - x_t) + eps * (lse - mean_x));
    if (dx != nullptr) {
      // grad_scale · (p − (1 − ε)·onehot(t) − ε/V)
      const T p_scale = static_cast<T>(grad_scale / sum_e);
      const T offset = static_cast<T>(grad_scale) * smooth;
#pragma omp simd
      for (int64_t j = 0; j < v; ++j) dx[j] = dx[j] * p_scale - offset;
      dx[t] -= static_cast<T>(grad_scale * (1.0 - eps));
    }
  }
  return bad_row == std::numeric_limits<int64_t>::max() ? -1 : bad_row;
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  if (any_bf16({&logits, &losses, &dlogits})) {
    Widened w;
    return cross_entropy(w.in(logits), targets, ignore_index, label_smoothing, grad_scale,
                         w.out(losses), w.out(dlogits));
  }
  const int64_t n = logits.dim(0), v = logits.dim(1);
  const int32_t* t = targets.data<int32_t>();
  int64_t bad_row = -1;
  dispatch_floating("cross_entropy", logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* dl = dlogits.defined() ? dlogits.data<T>() : nullptr;
    bad_row = cross_entropy_impl(logits.data<T>(), t, ignore_index, label_smoothing, grad_scale,
                                 losses.data<T>(), dl, n, v);
  });
  WEFT_CHECK(bad_row < 0, "cross_entropy: target ", bad_row < 0 ? 0 : t[bad_row], " of row ",
             bad_row, " is outside the vocabulary [0, ", v, ") and is not ignore_index ",
             ignore_index);
}

}  // namespace weft::cpu
