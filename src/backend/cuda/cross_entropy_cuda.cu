// Softmax cross-entropy on CUDA over the full vocabulary: the function of
// cross_entropy_cpu.cc, one block per row (cross_entropy_rows.cuh).

#include "backend/cuda/cross_entropy_rows.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = kCrossEntropyThreads;

// logits, dlogits (n,v); targets, losses (n). dlogits null: loss only.
template <typename T, typename L>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_kernel(const T* logits, const int32_t* __restrict__ targets, int64_t ignore_index,
                         double eps, double grad_scale, L* losses, T* dlogits, unsigned* bad_row,
                         int64_t n, int64_t v) {
  const int64_t r = blockIdx.x;
  const T* x = logits + r * v;
  T* dx = dlogits == nullptr ? nullptr : dlogits + r * v;
  const int64_t t = targets[r];
  if (skip_row(t, ignore_index, v, r, n, bad_row, losses, dx, v)) return;
  const double x_t = to_float(x[t]);  // read before dx (maybe x) is written
  const RowStats row = row_stats(x, v);
  const double lse = static_cast<double>(row.max) + log(row.sum_exp);
  const double mean_x = row.sum_x / static_cast<double>(v);
  if (threadIdx.x == 0) losses[r] = from_float<L>(smoothed_loss(lse, x_t, mean_x, eps));
  if (dx == nullptr) return;
  // grad_scale · (p − (1 − ε)·onehot(t) − ε/V)
  const float p_scale = static_cast<float>(grad_scale / row.sum_exp);
  const float offset =
      static_cast<float>(grad_scale) * static_cast<float>(eps / static_cast<double>(v));
  const float target_grad = static_cast<float>(grad_scale * (1.0 - eps));
  write_gradient(x, dx, v, row.max, p_scale, offset, target_grad, t);
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  const char* op = "cross_entropy";
  const int64_t n = logits.dim(0), v = logits.dim(1);
  auto launch = [&](auto zero, auto loss, unsigned* flag) {
    using T = decltype(zero);
    using L = decltype(loss);
    T* dl = dlogits.defined() ? ptr<T>(dlogits) : nullptr;
    cross_entropy_kernel<T, L><<<static_cast<unsigned>(n), kThreads, 0, stream(op)>>>(
        ptr<T>(logits), ptr<int32_t>(targets), ignore_index, label_smoothing, grad_scale,
        ptr<L>(losses), dl, flag, n, v);
    WEFT_LAUNCH_CHECK("cross_entropy_kernel");
  };
  launch_loss_rows(op, logits, losses, targets, v, ignore_index, launch);
}

}  // namespace weft::cuda
