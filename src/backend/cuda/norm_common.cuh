#pragma once
// What the layer-norm and RMS-norm kernels share: their launch shapes, and
// the backward pass's scheme of per-block partial sums of the parameter
// gradients (fixed row ranges per block, summed in block order by a second
// kernel: the same bits on every run, no atomics).

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "weft/tensor/tensor.h"

namespace weft::cuda::norm {

constexpr int kWarp = 32;
constexpr int kForwardThreads = 256;  // one row per warp: 8 rows per block
constexpr int kBackwardMaxThreads = 256;
constexpr int64_t kBackwardMinRowsPerBlock = 8;
constexpr int64_t kBackwardMaxBlocks = 1024;  // bounds the partial sums to 1024 rows of them
constexpr int kFinishSlices = 8;              // row slices of the partial-sum kernel's blocks
constexpr size_t kDefaultSharedBytes = 48 * 1024;

// Backward's grid: threads cover a row's `packs` (whole warps, at most
// kBackwardMaxThreads), blocks take at least kBackwardMinRowsPerBlock rows
// each (at most kBackwardMaxBlocks blocks). Depends only on the shape.
struct BackwardGrid {
  int threads;
  int64_t blocks;
};
inline BackwardGrid backward_grid(int64_t packs, int64_t rows) {
  const int64_t wanted_threads = (packs + kWarp - 1) / kWarp * kWarp;
  const int64_t wanted_blocks = (rows + kBackwardMinRowsPerBlock - 1) / kBackwardMinRowsPerBlock;
  return {static_cast<int>(wanted_threads < kBackwardMaxThreads ? wanted_threads
                                                                 : kBackwardMaxThreads),
          wanted_blocks < kBackwardMaxBlocks ? wanted_blocks : kBackwardMaxBlocks};
}

// The per-block partial sums of backward, reused across calls.
inline Tensor& partial_scratch(int64_t floats) {
  thread_local Tensor scratch;
  Tensor::ensure(scratch, {floats}, DType::F32, Device::CUDA);
  return scratch;
}

// Lets `kernel` use `bytes` of dynamic shared memory (beyond the default
// 48 KiB it must opt in), or refuses rows too long for this GPU.
template <typename Kernel>
void allow_shared_memory(const char* op, Kernel kernel, size_t bytes, int64_t d) {
  if (bytes <= kDefaultSharedBytes) return;
  int limit = 0;
  WEFT_CUDA_CALL(op, cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                            context(op).device));
  // The block-sum scratch takes kWarp floats of static shared memory.
  WEFT_CHECK(bytes + kWarp * sizeof(float) <= static_cast<size_t>(limit), "cuda ", op, ": rows of ",
             d, " elements need ", bytes,
             " bytes of shared memory per block for the parameter gradients; this GPU allows ",
             limit);
  WEFT_CUDA_CALL(op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
}

}  // namespace weft::cuda::norm
