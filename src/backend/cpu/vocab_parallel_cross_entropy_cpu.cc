// Vocabulary-parallel cross-entropy, one row per task. Per-shard sums are
// taken relative to the shard's own max and rescaled to the global max when
// the shards are combined, so the exponentials never overflow and one
// exchange of four numbers per row suffices.

#include <cmath>
#include <limits>

#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "backend/kernels.h"

namespace weft::cpu {
namespace {

bool counted(int64_t t, int64_t ignore_index) { return t != ignore_index; }

template <typename T>
void shard_stats_impl(const T* logits, const int32_t* targets, int64_t offset, int64_t ignore_index,
                      double* stats, int64_t n, int64_t v) {
#pragma omp parallel for if (n * v >= kParallelMin / 4) schedule(static)
  for (int64_t r = 0; r < n; ++r) {
    const T* x = logits + r * v;
    double* s = stats + r * 4;
    const int64_t t = targets[r];
    if (!counted(t, ignore_index)) {
      s[0] = s[1] = s[2] = s[3] = 0.0;
      continue;
    }
    if (v == 0) {  // a shard that holds only vocabulary padding: no term
      s[0] = -std::numeric_limits<double>::infinity();
      s[1] = s[2] = s[3] = 0.0;
      continue;
    }
    T mx;
    double sum_x;
    max_and_sum(x, v, mx, sum_x);
    s[0] = mx;
    s[1] = exp_and_sum<T>(x, nullptr, v, mx);
    s[2] = t >= offset && t < offset + v ? static_cast<double>(x[t - offset]) : 0.0;
    s[3] = sum_x;
  }
}

template <typename T>
int64_t shard_finish_impl(const T* logits, const int32_t* targets, int64_t offset, int64_t vocab,
                          int64_t ignore_index, double eps, double grad_scale, const double* all,
                          int64_t shards, T* losses, T* dlogits, int64_t n, int64_t v) {
  int64_t bad_row = std::numeric_limits<int64_t>::max();
  const T offset_grad = static_cast<T>(grad_scale * eps / static_cast<double>(vocab));
#pragma omp parallel for if (n * v >= kParallelMin / 4) schedule(static) reduction(min : bad_row)
  for (int64_t r = 0; r < n; ++r) {
    const T* x = logits + r * v;
    T* dx = dlogits == nullptr ? nullptr : dlogits + r * v;
    const int64_t t = targets[r];
    if (!counted(t, ignore_index) || t < 0 || t >= vocab) {
      if (counted(t, ignore_index)) bad_row = std::min(bad_row, r);
      losses[r] = T(0);
      if (dx != nullptr) std::fill(dx, dx + v, T(0));
      continue;
    }
    double global_max = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < shards; ++k) global_max = std::max(global_max, all[(k * n + r) * 4]);
    double sum_e = 0.0, x_t = 0.0, sum_x = 0.0;
    for (int64_t k = 0; k < shards; ++k) {
      const double* s = all + (k * n + r) * 4;
      sum_e += s[1] * std::exp(s[0] - global_max);
      x_t += s[2];
      sum_x += s[3];
    }
    const double lse = global_max + std::log(sum_e);
    const double mean_x = sum_x / static_cast<double>(vocab);
    losses[r] = static_cast<T>((1.0 - eps) * (lse - x_t) + eps * (lse - mean_x));
    if (dx != nullptr) {
      // grad_scale · (p − (1 − ε)·onehot(t) − ε/V) on this shard's columns.
      exp_and_sum<T>(x, dx, v, static_cast<T>(global_max));
      const T p_scale = static_cast<T>(grad_scale / sum_e);
#pragma omp simd
      for (int64_t j = 0; j < v; ++j) dx[j] = dx[j] * p_scale - offset_grad;
      if (t >= offset && t < offset + v) dx[t - offset] -= static_cast<T>(grad_scale * (1.0 - eps));
    }
  }
  return bad_row == std::numeric_limits<int64_t>::max() ? -1 : bad_row;
}

}  // namespace

void cross_entropy_shard_stats(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                               int64_t ignore_index, Tensor& stats) {
  if (any_bf16({&logits})) {
    Widened w;
    return cross_entropy_shard_stats(w.in(logits), targets, vocab_offset, ignore_index, stats);
  }
  dispatch_floating("cross_entropy_shard_stats", logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    shard_stats_impl(logits.data<T>(), targets.data<int32_t>(), vocab_offset, ignore_index,
                     stats.data<double>(), logits.dim(0), logits.dim(1));
  });
}

void cross_entropy_shard_finish(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                                int64_t vocab_size, int64_t ignore_index, double label_smoothing,
                                double grad_scale, const Tensor& all_stats, Tensor& losses,
                                Tensor& dlogits) {
  if (any_bf16({&logits, &losses, &dlogits})) {
    Widened w;
    return cross_entropy_shard_finish(w.in(logits), targets, vocab_offset, vocab_size,
                                      ignore_index, label_smoothing, grad_scale, all_stats,
                                      w.out(losses), w.out(dlogits));
  }
  const int32_t* t = targets.data<int32_t>();
  int64_t bad_row = -1;
  dispatch_floating("cross_entropy_shard_finish", logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* dl = dlogits.defined() ? dlogits.data<T>() : nullptr;
    bad_row = shard_finish_impl(logits.data<T>(), t, vocab_offset, vocab_size, ignore_index,
                                label_smoothing, grad_scale, all_stats.data<double>(),
                                all_stats.dim(0), losses.data<T>(), dl, logits.dim(0),
                                logits.dim(1));
  });
  WEFT_CHECK(bad_row < 0, "cross_entropy: target ", bad_row < 0 ? 0 : t[bad_row], " of row ",
             bad_row, " is outside the vocabulary [0, ", vocab_size, ") and is not ignore_index ",
             ignore_index);
}

}  // namespace weft::cpu
