// Softmax cross-entropy on CUDA over the full vocabulary: the function of
// cross_entropy_cpu.cc, one block per row (cross_entropy_rows.cuh).

#include "backend/cuda/cross_entropy_rows.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = kCrossEntropyThreads;

// rows: every row holds the whole vocabulary (v columns).
template <typename T, typename L>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_kernel(LossRows<T, L> rows, int64_t ignore_index, double eps, double grad_scale) {
  const int64_t v = rows.v;
  const LossRow<T> row = block_row(rows);
  if (skip_row(rows, row, ignore_index, v)) return;
  const double x_t = to_float(row.x[row.t]);  // read before dx (maybe x) is written
  const RowStats stats = row_stats(row.x, v);
  const double lse = static_cast<double>(stats.max) + log(stats.sum_exp);
  const double mean_x = stats.sum_x / static_cast<double>(v);
  if (threadIdx.x == 0) rows.losses[row.r] = from_float<L>(smoothed_loss(lse, x_t, mean_x, eps));
  if (row.dx == nullptr) return;
  // grad_scale · (p − (1 − ε)·onehot(t) − ε/V)
  const float p_scale = static_cast<float>(grad_scale / stats.sum_exp);
  const float offset =
      static_cast<float>(grad_scale) * static_cast<float>(eps / static_cast<double>(v));
  const float target_grad = static_cast<float>(grad_scale * (1.0 - eps));
  write_gradient(row.x, row.dx, v, stats.max, p_scale, offset, target_grad, row.t);
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  const char* op = "cross_entropy";
  auto launch = [&](auto rows) {
    cross_entropy_kernel<<<static_cast<unsigned>(rows.n), kThreads, 0, stream(op)>>>(
        rows, ignore_index, label_smoothing, grad_scale);
    WEFT_LAUNCH_CHECK("cross_entropy_kernel");
  };
  launch_loss_rows(op, logits, targets, losses, dlogits, logits.dim(1), ignore_index, launch);
}

}  // namespace weft::cuda
