// Row gather on the GPU as word copies: the dtype only sets the row's size,
// so one kernel serves every dtype. The word is the widest of 16, 8, 4, 2 or
// 1 bytes that divides the row and both base addresses, so rows of bf16 or
// f32 with a multiple of 8 or 4 elements move 128 bits at a time.
//
//   src (N, C...)   index (M) i32 on the device, in [0, N)   dst (M, C...)

#include <cstdint>

#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// dst[r, w] = src[index[r], w] over m rows of `words` words each.
template <typename Word>
__global__ void gather_rows_kernel(const Word* src, const int32_t* index, int64_t m, int64_t words,
                                   Word* dst) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < m * words;
       i += stride) {
    const int64_t r = i / words, w = i - r * words;
    dst[i] = src[static_cast<int64_t>(index[r]) * words + w];
  }
}

template <typename Word>
void launch(const void* src, const int32_t* index, int64_t m, size_t row_bytes, void* dst) {
  const int64_t words = static_cast<int64_t>(row_bytes / sizeof(Word));
  const unsigned blocks = grid_for(m * words, kThreads, "gather_rows");
  gather_rows_kernel<Word><<<blocks, kThreads, 0, stream("gather_rows")>>>(
      static_cast<const Word*>(src), index, m, words, static_cast<Word*>(dst));
  WEFT_LAUNCH_CHECK("gather_rows");
}

}  // namespace

void gather_rows(const Tensor& src, const Tensor& index, Tensor& dst) {
  const int64_t m = dst.dim(0);
  if (m == 0 || dst.numel() == 0) return;
  const size_t row_bytes = static_cast<size_t>(dst.numel() / m) * dtype_size(dst.dtype());
  const int32_t* ids = ptr<int32_t>(index);
  const void* in = src.raw();
  void* out = dst.raw();
  // Every width divides the row and both base addresses, so every word is aligned.
  const uintptr_t alignment =
      reinterpret_cast<uintptr_t>(in) | reinterpret_cast<uintptr_t>(out) | row_bytes;
  if (alignment % 16 == 0) {
    launch<uint4>(in, ids, m, row_bytes, out);
  } else if (alignment % 8 == 0) {
    launch<uint2>(in, ids, m, row_bytes, out);
  } else if (alignment % 4 == 0) {
    launch<uint32_t>(in, ids, m, row_bytes, out);
  } else if (alignment % 2 == 0) {
    launch<uint16_t>(in, ids, m, row_bytes, out);
  } else {
    launch<uint8_t>(in, ids, m, row_bytes, out);
  }
}

}  // namespace weft::cuda
