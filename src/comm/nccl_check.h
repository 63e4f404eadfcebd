#pragma once
// WEFT_CUDA_CHECK(call) and WEFT_NCCL_CHECK(call) run a CUDA runtime or NCCL
// call and throw weft::Error naming the call, the library's text for the
// error, the file and the line when it fails.

#include <cuda_runtime.h>
#include <nccl.h>

#include "weft/tensor/error.h"

#define WEFT_CUDA_CHECK(call)                                                              \
  do {                                                                                     \
    const cudaError_t weft_cuda_code_ = (call);                                            \
    if (weft_cuda_code_ != cudaSuccess) {                                                  \
      throw ::weft::Error(                                                                 \
          ::weft::detail::concat(#call, " failed: ", cudaGetErrorString(weft_cuda_code_)), \
          ::weft::detail::concat(__FILE__, ":", __LINE__));                                \
    }                                                                                      \
  } while (0)

#define WEFT_NCCL_CHECK(call)                                                              \
  do {                                                                                     \
    const ncclResult_t weft_nccl_code_ = (call);                                           \
    if (weft_nccl_code_ != ncclSuccess) {                                                  \
      throw ::weft::Error(                                                                 \
          ::weft::detail::concat(#call, " failed: ", ncclGetErrorString(weft_nccl_code_)), \
          ::weft::detail::concat(__FILE__, ":", __LINE__));                                \
    }                                                                                      \
  } while (0)
