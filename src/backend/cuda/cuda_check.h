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

// Throws for `call` of `op`, which failed with the error its library
// describes as `text` and names `name`.
[[noreturn]] void fail_call(const char* op, const char* call, const char* text, const char* name,
                            const char* file, int line);

// Fails `call` of `op` unless it returned `success`; text_of and name_of are
// the library's descriptions of a Status.
template <typename Status, typename Describe>
void check_call(Status status, Status success, Describe text_of, Describe name_of, const char* op,
                const char* call, const char* file, int line) {
  if (status != success) fail_call(op, call, text_of(status), name_of(status), file, line);
}

}  // namespace weft::cuda::detail

#define WEFT_CUDA_CALL(op, call)                                                         \
  ::weft::cuda::detail::check_call<cudaError_t>((call), cudaSuccess, cudaGetErrorString, \
                                                cudaGetErrorName, op, #call, __FILE__, __LINE__)

#define WEFT_CUBLAS_CALL(op, call)                                                                 \
  ::weft::cuda::detail::check_call<cublasStatus_t>((call), CUBLAS_STATUS_SUCCESS,                  \
                                                   cublasLtGetStatusString, cublasLtGetStatusName, \
                                                   op, #call, __FILE__, __LINE__)

// After every kernel launch: a bad launch configuration is reported here.
#define WEFT_LAUNCH_CHECK(op) WEFT_CUDA_CALL(op, cudaGetLastError())
