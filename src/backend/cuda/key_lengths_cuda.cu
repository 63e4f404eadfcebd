// key_lengths (key_lengths.h): one block per sequence counts its visible keys
// and looks for a visible key right after a hidden one, which a length per
// sequence cannot express; a mask the host described (describe_key_mask)
// skips reading that back. zero_past_lengths: one block per row.

#include <algorithm>
#include <optional>
#include <vector>

#include "backend/cuda/device_common.cuh"
#include "backend/cuda/key_lengths.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// valid (B,Tk) i32; out (3,ld) i32: row 0 Tq, row 1 the count of visible
// keys, row 2 whether the row is a non-empty prefix of ones.
__global__ void __launch_bounds__(kThreads)
    key_lengths_kernel(const int32_t* valid, int64_t Tk, int32_t Tq, int64_t ld, int32_t* out) {
  const int64_t b = blockIdx.x;
  const int32_t* row = valid + b * Tk;
  int ones = 0;
  bool hole = false;
  for (int64_t j0 = 0; j0 < Tk; j0 += kThreads) {
    const int64_t j = j0 + threadIdx.x;
    const bool on = j < Tk && row[j] != 0;
    ones += __syncthreads_count(on);
    hole = __syncthreads_or(on && j > 0 && row[j - 1] == 0) != 0 || hole;
  }
  if (threadIdx.x == 0) {
    out[b] = Tq;
    out[ld + b] = ones;
    out[2 * ld + b] = !hole && ones > 0;
  }
}

// x (B,T,row) with row = H·Dh: one block per (b, t), striding over the row.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    zero_past_lengths_kernel(T* x, int64_t T_len, int64_t row, const int32_t* lengths) {
  const int64_t b = blockIdx.x / T_len, t = blockIdx.x % T_len;
  if (t < lengths[b]) return;
  for (int64_t c = threadIdx.x; c < row; c += kThreads)
    x[blockIdx.x * row + c] = from_float<T>(0.0f);
}

}  // namespace

void zero_past_lengths(Tensor& x, const int32_t* lengths) {
  const char* op = "zero_past_lengths";
  const int64_t blocks = x.dim(0) * x.dim(1), row = x.dim(2) * x.dim(3);
  if (blocks == 0) return;
  dispatch_floating(op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    zero_past_lengths_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream(op)>>>(
        ptr<T>(x), x.dim(1), row, lengths);
    WEFT_LAUNCH_CHECK("zero_past_lengths_kernel");
  });
}

namespace {

// The masks the host described on this thread, newest last: a reference to
// each (its memory stays its own) and whether it is lengths.
struct Described {
  Tensor mask;
  bool lengths;
};
// A model describes one or two masks (self, memory) per batch; a few more
// cover a second model on the thread.
constexpr size_t kDescribed = 8;
thread_local std::vector<Described> described;

std::optional<bool> described_as_lengths(const Tensor& key_valid) {
  for (const Described& d : described) {
    if (d.mask.raw() == key_valid.raw() && d.mask.shape() == key_valid.shape()) return d.lengths;
  }
  return std::nullopt;
}

}  // namespace

void describe_key_mask(const Tensor& key_valid, bool lengths) {
  std::erase_if(described, [&](const Described& d) { return d.mask.raw() == key_valid.raw(); });
  if (described.size() >= kDescribed) described.erase(described.begin());
  described.push_back({key_valid, lengths});
}

KeyLengths key_lengths(const Tensor& key_valid, int64_t Tq) {
  const char* op = "key_lengths";
  const int64_t B = key_valid.dim(0), Tk = key_valid.dim(1);
  const int64_t ld = (B + 3) / 4 * 4;  // rows start 16-byte aligned, as cuDNN's operands must
  thread_local Tensor lengths;
  thread_local std::vector<int32_t> prefix;
  Tensor::ensure(lengths, {3, ld}, DType::I32, Device::CUDA);
  int32_t* out = ptr<int32_t>(lengths);
  key_lengths_kernel<<<static_cast<unsigned>(B), kThreads, 0, stream(op)>>>(
      ptr<int32_t>(key_valid), Tk, static_cast<int32_t>(Tq), ld, out);
  WEFT_LAUNCH_CHECK("key_lengths_kernel");
  if (const std::optional<bool> known = described_as_lengths(key_valid)) {
    return {out, out + ld, *known};
  }
  prefix.resize(static_cast<size_t>(B));
  WEFT_CUDA_CALL(op, cudaMemcpyAsync(prefix.data(), out + 2 * ld, B * sizeof(int32_t),
                                     cudaMemcpyDeviceToHost, stream(op)));
  WEFT_CUDA_CALL(op, cudaStreamSynchronize(stream(op)));
  const bool all = std::all_of(prefix.begin(), prefix.end(), [](int32_t v) { return v != 0; });
  return {out, out + ld, all};
}

}  // namespace weft::cuda
