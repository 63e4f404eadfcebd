#pragma once
// What the full-vocabulary (cross_entropy_cuda.cu) and vocabulary-parallel
// (vocab_parallel_cross_entropy_cuda.cu) softmax cross-entropy kernels share.
// One block per row. A row is read at most twice: once for its max,
// Σ exp(x − max) and Σ x (one online pass: a thread rescales its running sum
// when its max grows), once more to write dlogits. Exponentials are f32 with
// the max subtracted; per-row sums and losses are f64, as the CPU's. dlogits
// may alias logits: each element is read before it is written, by the thread
// that writes it.
//
// A target outside the vocabulary that is not ignore_index zeroes its row and
// is recorded on the device; the host reads the record back after the launch
// and refuses the call naming the first such row, as the CPU does.

#include <cfloat>

#include "backend/cuda/elementwise_loop.cuh"

namespace weft::cuda {

constexpr int kCrossEntropyThreads = 256;

// The n rows of a loss launch, one block each: logits (n,v) (the vocabulary
// or this shard's columns of it), targets and losses (n), dlogits (n,v) (null:
// loss only; may alias logits) and the device record of bad targets.
template <typename T, typename L>
struct LossRows {
  const T* logits;
  const int32_t* targets;
  L* losses;
  T* dlogits;
  unsigned* bad_row;
  int64_t n, v;
};

// Row r of a LossRows: its logits x, its gradient dx (null: none), target t.
template <typename T>
struct LossRow {
  int64_t r;
  const T* x;
  T* dx;
  int64_t t;
};

// The row of `rows` that this block owns.
template <typename T, typename L>
__device__ __forceinline__ LossRow<T> block_row(const LossRows<T, L>& rows) {
  const int64_t r = blockIdx.x;
  T* dx = rows.dlogits == nullptr ? nullptr : rows.dlogits + r * rows.v;
  return {r, rows.logits + r * rows.v, dx, __ldg(rows.targets + r)};
}

// f(j, x[j]) for every j in [0, v) this thread owns: 128-bit loads from the
// first 16-byte boundary of x on.
template <typename T, typename Fn>
__device__ __forceinline__ void visit_row(const T* x, int64_t v, Fn&& f) {
  for_block_range<Packed<T>::size>(head_of(x, v), v, [&](int64_t j, auto width) {
    constexpr int W = decltype(width)::value;
    float xs[W];
    load_floats<W>(x + j, xs);
#pragma unroll
    for (int e = 0; e < W; ++e) f(j + e, xs[e]);
  });
}

// dx[j] = f(j, x[j]) for every j in [0, v) this thread owns; 128-bit
// accesses when x and dx share their offset from a 16-byte boundary (always
// when they alias), scalar ones otherwise.
template <typename T, typename Fn>
__device__ __forceinline__ void map_row(const T* x, T* dx, int64_t v, Fn&& f) {
  const bool same_phase =
      (reinterpret_cast<uintptr_t>(x) - reinterpret_cast<uintptr_t>(dx)) % 16 == 0;
  const int64_t head = same_phase ? head_of(x, v) : v;
  for_block_range<Packed<T>::size>(head, v, [&](int64_t j, auto width) {
    constexpr int W = decltype(width)::value;
    float xs[W];
    load_floats<W>(x + j, xs);
#pragma unroll
    for (int e = 0; e < W; ++e) xs[e] = f(j + e, xs[e]);
    store_floats<W>(dx + j, xs);
  });
}

// dx[0, v) = 0.
template <typename T>
__device__ __forceinline__ void zero_row(T* dx, int64_t v) {
  for_block_range<Packed<T>::size>(head_of(dx, v), v, [&](int64_t j, auto width) {
    constexpr int W = decltype(width)::value;
    float zeros[W];
#pragma unroll
    for (int e = 0; e < W; ++e) zeros[e] = 0.0f;
    store_floats<W>(dx + j, zeros);
  });
}

// A row's max, Σ exp(x − max) and Σ x; every thread of the block gets them.
struct RowStats {
  float max;
  double sum_exp;
  double sum_x;
};

template <typename T>
__device__ RowStats row_stats(const T* x, int64_t v) {
  __shared__ float max_scratch[32];
  __shared__ double sum_scratch[32];
  // -FLT_MAX, not -inf: a thread with no elements, or with -inf logits only,
  // then adds exp(-inf) = 0 rather than exp(-inf + inf) = NaN.
  float max = -FLT_MAX, sum_exp = 0.0f;
  double sum_x = 0.0;
  visit_row(x, v, [&](int64_t, float xj) {
    if (xj > max) {
      sum_exp = sum_exp * expf(max - xj) + 1.0f;
      max = xj;
    } else {
      sum_exp += expf(xj - max);
    }
    sum_x += xj;
  });
  RowStats row;
  row.max = block_max(max, max_scratch);
  row.sum_exp = block_sum(static_cast<double>(sum_exp * expf(max - row.max)), sum_scratch);
  row.sum_x = block_sum(sum_x, sum_scratch);
  return row;
}

// True, having written its loss 0 and its gradient row 0, when the row's
// target is ignore_index or outside [0, vocab). The latter is recorded in
// rows.bad_row, which keeps n − r of the first such row (0: none) whatever
// the block order. The same answer for the whole block.
template <typename T, typename L>
__device__ __forceinline__ bool skip_row(const LossRows<T, L>& rows, const LossRow<T>& row,
                                         int64_t ignore_index, int64_t vocab) {
  const int64_t t = row.t;
  if (t != ignore_index && t >= 0 && t < vocab) return false;
  if (t != ignore_index && threadIdx.x == 0) {
    atomicMax(rows.bad_row, static_cast<unsigned>(rows.n - row.r));
  }
  if (threadIdx.x == 0) rows.losses[row.r] = from_float<L>(0.0f);
  if (row.dx != nullptr) zero_row(row.dx, rows.v);
  return true;
}

// (1 − ε)·(lse − x_t) + ε·(lse − mean x): the label-smoothed loss of a row.
__device__ __forceinline__ float smoothed_loss(double lse, double x_t, double mean_x, double eps) {
  return static_cast<float>((1.0 - eps) * (lse - x_t) + eps * (lse - mean_x));
}

// dx[j] = exp(x[j] − shift)·p_scale − offset, less target_grad at column
// target_col (outside [0, v) when another shard holds the target): the
// gradient grad_scale · (p − (1 − ε)·onehot(t) − ε/V) with the scales folded.
template <typename T>
__device__ __forceinline__ void write_gradient(const T* x, T* dx, int64_t v, float shift,
                                               float p_scale, float offset, float target_grad,
                                               int64_t target_col) {
  map_row(x, dx, v, [&](int64_t j, float xj) {
    const float g = expf(xj - shift) * p_scale - offset;
    return j == target_col ? g - target_grad : g;
  });
}

// One grid block per row: at most 2^31 − 1 rows, which the flag's n − r
// encoding also needs.
inline void check_rows(const char* op, int64_t n) {
  WEFT_CHECK(n < (int64_t{1} << 31), "cuda ", op, ": ", n,
             " rows exceed the 2^31 − 1 this kernel launches");
}

// The device record of bad targets, cleared for this launch. Per thread:
// simulated ranks share the device.
inline unsigned* cleared_bad_row_flag(const char* op) {
  thread_local Tensor flag;
  Tensor::ensure(flag, {1}, DType::I32, Device::CUDA);
  WEFT_CUDA_CALL(op, cudaMemsetAsync(flag.raw(), 0, sizeof(unsigned), stream(op)));
  return static_cast<unsigned*>(flag.raw());
}

// Waits for the kernel and refuses the call as the CPU does when a row's
// target was outside [0, vocab) and not ignore_index.
inline void check_targets(const char* op, const unsigned* flag, const Tensor& targets, int64_t n,
                          int64_t vocab, int64_t ignore_index) {
  const cudaStream_t s = stream(op);
  unsigned found = 0;
  WEFT_CUDA_CALL(op, cudaMemcpyAsync(&found, flag, sizeof(found), cudaMemcpyDeviceToHost, s));
  WEFT_CUDA_CALL(op, cudaStreamSynchronize(s));
  if (found == 0) return;
  const int64_t row = n - static_cast<int64_t>(found);
  int32_t target = 0;
  WEFT_CUDA_CALL(op, cudaMemcpyAsync(&target, ptr<int32_t>(targets) + row, sizeof(target),
                                     cudaMemcpyDeviceToHost, s));
  WEFT_CUDA_CALL(op, cudaStreamSynchronize(s));
  throw Error(::weft::detail::concat("cross_entropy: target ", target, " of row ", row,
                                     " is outside the vocabulary [0, ", vocab,
                                     ") and is not ignore_index ", ignore_index));
}

// A loss kernel over the n rows of logits, one block per row:
// launch(LossRows<T, L>) with T the logits' dtype and L the losses' (f32
// under mixed precision, else T), then the refusal of bad targets. dlogits
// undefined: loss only.
template <typename Launch>
void launch_loss_rows(const char* op, const Tensor& logits, const Tensor& targets, Tensor& losses,
                      Tensor& dlogits, int64_t vocab, int64_t ignore_index, Launch&& launch) {
  const int64_t n = logits.dim(0);
  if (n == 0) return;
  check_rows(op, n);
  unsigned* flag = cleared_bad_row_flag(op);
  dispatch_floating_with_companion(op, logits.dtype(), losses.dtype(), [&](auto zero, auto loss) {
    using T = decltype(zero);
    using L = decltype(loss);
    T* dl = dlogits.defined() ? ptr<T>(dlogits) : nullptr;
    launch(LossRows<T, L>{ptr<T>(logits), ptr<int32_t>(targets), ptr<L>(losses), dl, flag, n,
                          logits.dim(1)});
  });
  check_targets(op, flag, targets, n, vocab, ignore_index);
}

}  // namespace weft::cuda
