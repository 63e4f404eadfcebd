// Vocabulary-parallel softmax cross-entropy on CUDA: the functions of
// vocab_parallel_cross_entropy_cpu.cc. Each rank holds a shard of the
// vocabulary's columns; shard_stats gives four numbers per row (max,
// Σ exp(x − max), x_target or 0, Σ x), the caller gathers every shard's, and
// shard_finish combines them in shard order into the loss and this shard's
// gradient. One block per row (cross_entropy_rows.cuh).

#include <cmath>

#include "backend/cuda/cross_entropy_rows.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = kCrossEntropyThreads;

// logits (n,v) -> stats f64 (n,4): max, Σ exp(x − max), x_target or 0, Σ x.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    shard_stats_kernel(const T* logits, const int32_t* __restrict__ targets, int64_t offset,
                       int64_t ignore_index, double* stats, int64_t v) {
  const int64_t r = blockIdx.x;
  const T* x = logits + r * v;
  double* s = stats + r * 4;
  const int64_t t = targets[r];
  if (t == ignore_index) {
    if (threadIdx.x == 0) s[0] = s[1] = s[2] = s[3] = 0.0;
    return;
  }
  const RowStats row = row_stats(x, v);
  if (threadIdx.x == 0) {
    s[0] = row.max;
    s[1] = row.sum_exp;
    s[2] = t >= offset && t < offset + v ? static_cast<double>(to_float(x[t - offset])) : 0.0;
    s[3] = row.sum_x;
  }
}

// all (shards,n,4) -> the losses of `rows`, whose v columns are this shard's
// [offset, offset + v) of the vocabulary's.
template <typename T, typename L>
__global__ void __launch_bounds__(kThreads)
    shard_finish_kernel(LossRows<T, L> rows, int64_t offset, int64_t vocab, int64_t ignore_index,
                        double eps, double grad_scale, const double* __restrict__ all,
                        int64_t shards) {
  const int64_t n = rows.n, v = rows.v;
  const LossRow<T> row = block_row(rows);
  if (skip_row(rows, row, ignore_index, vocab)) return;
  const int64_t r = row.r;
  // A few shards: every thread combines them itself, in shard order.
  double global_max = -INFINITY;
  for (int64_t k = 0; k < shards; ++k) global_max = fmax(global_max, all[(k * n + r) * 4]);
  double sum_e = 0.0, x_t = 0.0, sum_x = 0.0;
  for (int64_t k = 0; k < shards; ++k) {
    const double* s = all + (k * n + r) * 4;
    sum_e += s[1] * exp(s[0] - global_max);
    x_t += s[2];
    sum_x += s[3];
  }
  const double lse = global_max + log(sum_e);
  const double mean_x = sum_x / static_cast<double>(vocab);
  if (threadIdx.x == 0) rows.losses[r] = from_float<L>(smoothed_loss(lse, x_t, mean_x, eps));
  if (row.dx == nullptr) return;
  // grad_scale · (p − (1 − ε)·onehot(t) − ε/V) on this shard's columns.
  const float shift = static_cast<float>(global_max);
  const float p_scale = static_cast<float>(grad_scale / sum_e);
  const float offset_grad = static_cast<float>(grad_scale * eps / static_cast<double>(vocab));
  const float target_grad = static_cast<float>(grad_scale * (1.0 - eps));
  write_gradient(row.x, row.dx, v, shift, p_scale, offset_grad, target_grad, row.t - offset);
}

}  // namespace

void cross_entropy_shard_stats(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                               int64_t ignore_index, Tensor& stats) {
  const char* op = "cross_entropy_shard_stats";
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (n == 0) return;
  check_rows(op, n);
  dispatch_floating(op, logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    shard_stats_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream(op)>>>(
        ptr<T>(logits), ptr<int32_t>(targets), vocab_offset, ignore_index, ptr<double>(stats), v);
    WEFT_LAUNCH_CHECK("shard_stats_kernel");
  });
}

void cross_entropy_shard_finish(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                                int64_t vocab_size, int64_t ignore_index, double label_smoothing,
                                double grad_scale, const Tensor& all_stats, Tensor& losses,
                                Tensor& dlogits) {
  const char* op = "cross_entropy_shard_finish";
  auto launch = [&](auto rows) {
    shard_finish_kernel<<<static_cast<unsigned>(rows.n), kThreads, 0, stream(op)>>>(
        rows, vocab_offset, vocab_size, ignore_index, label_smoothing, grad_scale,
        ptr<double>(all_stats), all_stats.dim(0));
    WEFT_LAUNCH_CHECK("shard_finish_kernel");
  };
  launch_loss_rows(op, logits, targets, losses, dlogits, vocab_size, ignore_index, launch);
}

}  // namespace weft::cuda
