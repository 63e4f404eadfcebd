#pragma once
// Every CUDA runtime and cuBLASLt call in the backend goes through these
// macros: a failure throws weft::Error naming the op, the call and the
// error, e.g.
//   cuda layer_norm_forward: cudaMemsetAsync(...) failed: out of memory
//   (cudaErrorMemoryAllocation) [src/backend/cuda/layer_norm_cuda.cu:88]
// A fault inside a kernel surfaces at the next synchronising call; run with
// CUDA_LAUNCH_BLOCKING=1 to pin it to its launch.

#include <cublasLt.h>
#include <cuda_runtime.h>

namespace weft::cuda::detail {
[[noreturn]] void fail_cuda(cudaError_t error, const char* op, const char* call, const char* file,
                            int line);
[[noreturn]] void fail_cublas(cublasStatus_t status, const char* op, const char* call,
                              const char* file, int line);
}  // namespace weft::cuda::detail

#define WEFT_CUDA_CALL(op, call)                                                    \
  do {                                                                              \
    const cudaError_t weft_cuda_error_ = (call);                                    \
    if (weft_cuda_error_ != cudaSuccess)                                            \
      ::weft::cuda::detail::fail_cuda(weft_cuda_error_, op, #call, __FILE__, __LINE__); \
  } while (0)

#define WEFT_CUBLAS_CALL(op, call)                                                       \
  do {                                                                                   \
    const cublasStatus_t weft_cublas_status_ = (call);                                   \
    if (weft_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                    \
      ::weft::cuda::detail::fail_cublas(weft_cublas_status_, op, #call, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: a bad launch configuration is reported here.
#define WEFT_LAUNCH_CHECK(op) WEFT_CUDA_CALL(op, cudaGetLastError())
