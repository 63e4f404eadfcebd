// Softmax cross-entropy on CUDA, full-vocabulary (cross_entropy) and
// vocabulary-parallel (cross_entropy_shard_stats / _finish): the functions of
// cross_entropy_cpu.cc and vocab_parallel_cross_entropy_cpu.cc. One block per
// row. A row is read at most twice: once for its max, Σ exp(x − max) and Σ x
// (one online pass: a thread rescales its running sum when its max grows),
// once more to write dlogits. Exponentials are f32 with the max subtracted;
// per-row sums and losses are f64, as the CPU's. dlogits may alias logits:
// each element is read before it is written, by the thread that writes it.
//
// A target outside the vocabulary that is not ignore_index zeroes its row and
// is recorded on the device; the host reads the record back after the launch
// and refuses the call naming the first such row, as the CPU does.

#include <cfloat>

#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// Elements of p before its first 16-byte boundary, at most v.
template <typename T>
__device__ __forceinline__ int64_t head_of(const T* p, int64_t v) {
  const int64_t misaligned = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 16);
  const int64_t head = misaligned == 0 ? 0 : (16 - misaligned) / static_cast<int64_t>(sizeof(T));
  return head < v ? head : v;
}

// f(j, x[j]) for every j in [0, v) owned by this thread: a scalar head up to
// the first 16-byte boundary, 128-bit loads over the body, a scalar tail.
template <typename T, typename Fn>
__device__ __forceinline__ void visit_row(const T* x, int64_t v, Fn&& f) {
  constexpr int P = Packed<T>::size;
  const int64_t head = head_of(x, v);
  const int64_t packs = (v - head) / P;
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x) f(j, to_float(x[j]));
  for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
    const int64_t j0 = head + p * P;
    const Packed<T> pk = load_packed(x + j0);
#pragma unroll
    for (int e = 0; e < P; ++e) f(j0 + e, pk.get(e));
  }
  for (int64_t j = head + packs * P + threadIdx.x; j < v; j += blockDim.x) f(j, to_float(x[j]));
}

// dx[j] = f(j, x[j]) for every j in [0, v) owned by this thread; 128-bit
// accesses when x and dx share their offset from a 16-byte boundary (always
// when they alias), scalar ones otherwise.
template <typename T, typename Fn>
__device__ __forceinline__ void map_row(const T* x, T* dx, int64_t v, Fn&& f) {
  constexpr int P = Packed<T>::size;
  const bool same_phase =
      (reinterpret_cast<uintptr_t>(x) - reinterpret_cast<uintptr_t>(dx)) % 16 == 0;
  const int64_t head = same_phase ? head_of(x, v) : v;
  const int64_t packs = (v - head) / P;
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x)
    dx[j] = from_float<T>(f(j, to_float(x[j])));
  for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
    const int64_t j0 = head + p * P;
    Packed<T> pk = load_packed(x + j0);
#pragma unroll
    for (int e = 0; e < P; ++e) pk.set(e, f(j0 + e, pk.get(e)));
    store_packed(dx + j0, pk);
  }
  for (int64_t j = head + packs * P + threadIdx.x; j < v; j += blockDim.x) {
    dx[j] = from_float<T>(f(j, to_float(x[j])));
  }
}

// dx[0, v) = 0.
template <typename T>
__device__ __forceinline__ void zero_row(T* dx, int64_t v) {
  constexpr int P = Packed<T>::size;
  const int64_t head = head_of(dx, v);
  const int64_t packs = (v - head) / P;
  Packed<T> zeros;
#pragma unroll
  for (int e = 0; e < P; ++e) zeros.set(e, 0.0f);
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x) dx[j] = from_float<T>(0.0f);
  for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) store_packed(dx + head + p * P, zeros);
  for (int64_t j = head + packs * P + threadIdx.x; j < v; j += blockDim.x) {
    dx[j] = from_float<T>(0.0f);
  }
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

// Records row r (of n) as having a target outside the vocabulary: the flag
// keeps n − r of the first such row, 0 meaning none, whatever the block order.
__device__ __forceinline__ void record_bad_row(unsigned* flag, int64_t r, int64_t n) {
  if (threadIdx.x == 0) atomicMax(flag, static_cast<unsigned>(n - r));
}

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
  if (t == ignore_index || t < 0 || t >= v) {  // the same for the whole block
    if (t != ignore_index) record_bad_row(bad_row, r, n);
    if (threadIdx.x == 0) losses[r] = from_float<L>(0.0f);
    if (dx != nullptr) zero_row(dx, v);
    return;
  }
  const double x_t = to_float(x[t]);  // read before dx (maybe x) is written
  const RowStats row = row_stats(x, v);
  const double lse = static_cast<double>(row.max) + log(row.sum_exp);
  const double mean_x = row.sum_x / static_cast<double>(v);
  if (threadIdx.x == 0) {
    losses[r] = from_float<L>(static_cast<float>((1.0 - eps) * (lse - x_t) + eps * (lse - mean_x)));
  }
  if (dx == nullptr) return;
  // grad_scale · (p − (1 − ε)·onehot(t) − ε/V)
  const float p_scale = static_cast<float>(grad_scale / row.sum_exp);
  const float offset =
      static_cast<float>(grad_scale) * static_cast<float>(eps / static_cast<double>(v));
  const float target_grad = static_cast<float>(grad_scale * (1.0 - eps));
  map_row(x, dx, v, [&](int64_t j, float xj) {
    const float g = expf(xj - row.max) * p_scale - offset;
    return j == t ? g - target_grad : g;
  });
}

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

// all (shards,n,4) -> losses (n); dlogits (n,v) this shard's columns, may be
// null or alias logits.
template <typename T, typename L>
__global__ void __launch_bounds__(kThreads)
    shard_finish_kernel(const T* logits, const int32_t* __restrict__ targets, int64_t offset,
                        int64_t vocab, int64_t ignore_index, double eps, double grad_scale,
                        const double* __restrict__ all, int64_t shards, L* losses, T* dlogits,
                        unsigned* bad_row, int64_t n, int64_t v) {
  const int64_t r = blockIdx.x;
  const T* x = logits + r * v;
  T* dx = dlogits == nullptr ? nullptr : dlogits + r * v;
  const int64_t t = targets[r];
  if (t == ignore_index || t < 0 || t >= vocab) {
    if (t != ignore_index) record_bad_row(bad_row, r, n);
    if (threadIdx.x == 0) losses[r] = from_float<L>(0.0f);
    if (dx != nullptr) zero_row(dx, v);
    return;
  }
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
  if (threadIdx.x == 0) {
    losses[r] = from_float<L>(static_cast<float>((1.0 - eps) * (lse - x_t) + eps * (lse - mean_x)));
  }
  if (dx == nullptr) return;
  // grad_scale · (p − (1 − ε)·onehot(t) − ε/V) on this shard's columns.
  const float shift = static_cast<float>(global_max);
  const float p_scale = static_cast<float>(grad_scale / sum_e);
  const float offset_grad = static_cast<float>(grad_scale * eps / static_cast<double>(vocab));
  const float target_grad = static_cast<float>(grad_scale * (1.0 - eps));
  const int64_t target_col = t - offset;  // outside [0, v) when another shard holds t
  map_row(x, dx, v, [&](int64_t j, float xj) {
    const float g = expf(xj - shift) * p_scale - offset_grad;
    return j == target_col ? g - target_grad : g;
  });
}

// One grid block per row: at most 2^31 − 1 rows, which the flag's n − r
// encoding also needs.
void check_rows(const char* op, int64_t n) {
  WEFT_CHECK(n < (int64_t{1} << 31), "cuda ", op, ": ", n,
             " rows exceed the 2^31 − 1 this kernel launches");
}

// The device record of bad targets, cleared for this launch. Per thread:
// simulated ranks share the device.
unsigned* cleared_bad_row_flag(const char* op) {
  thread_local Tensor flag;
  Tensor::ensure(flag, {1}, DType::I32, Device::CUDA);
  WEFT_CUDA_CALL(op, cudaMemsetAsync(flag.raw(), 0, sizeof(unsigned), stream(op)));
  return static_cast<unsigned*>(flag.raw());
}

// Waits for the kernel and refuses the call as the CPU does when a row's
// target was outside [0, vocab) and not ignore_index.
void check_targets(const char* op, const unsigned* flag, const Tensor& targets, int64_t n,
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

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   double label_smoothing, double grad_scale, Tensor& losses, Tensor& dlogits) {
  const char* op = "cross_entropy";
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (n == 0) return;
  check_rows(op, n);
  unsigned* flag = cleared_bad_row_flag(op);
  // Losses are f32 under mixed precision (bf16 logits), else the logits' dtype.
  dispatch_floating_with_companion(op, logits.dtype(), losses.dtype(), [&](auto zero, auto loss) {
    using T = decltype(zero);
    using L = decltype(loss);
    T* dl = dlogits.defined() ? ptr<T>(dlogits) : nullptr;
    cross_entropy_kernel<T, L><<<static_cast<unsigned>(n), kThreads, 0, stream(op)>>>(
        ptr<T>(logits), ptr<int32_t>(targets), ignore_index, label_smoothing, grad_scale,
        ptr<L>(losses), dl, flag, n, v);
    WEFT_LAUNCH_CHECK("cross_entropy_kernel");
  });
  check_targets(op, flag, targets, n, v, ignore_index);
}

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
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (n == 0) return;
  check_rows(op, n);
  unsigned* flag = cleared_bad_row_flag(op);
  dispatch_floating_with_companion(op, logits.dtype(), losses.dtype(), [&](auto zero, auto loss) {
    using T = decltype(zero);
    using L = decltype(loss);
    T* dl = dlogits.defined() ? ptr<T>(dlogits) : nullptr;
    shard_finish_kernel<T, L><<<static_cast<unsigned>(n), kThreads, 0, stream(op)>>>(
        ptr<T>(logits), ptr<int32_t>(targets), vocab_offset, vocab_size, ignore_index,
        label_smoothing, grad_scale, ptr<double>(all_stats), all_stats.dim(0), ptr<L>(losses), dl,
        flag, n, v);
    WEFT_LAUNCH_CHECK("shard_finish_kernel");
  });
  check_targets(op, flag, targets, n, vocab_size, ignore_index);
}

}  // namespace weft::cuda
