#pragma once
// WEFT_CUDA_CHECK(call) and WEFT_NCCL_CHECK(call) run a CUDA runtime or NCCL
// call and throw weft::Error naming the call, the library's text for the
// error, the file and the line when it fails.

#include <cuda_runtime.h>
#include <nccl.h>

#include "weft/tensor/error.h"

namespace weft::nccl_detail {

// Throws for `call` unless it returned `success`; text_of is the library's
// description of a Status.
template <typename Status, typename Describe>
void check_call(Status status, Status success, Describe text_of, const char* call, const char* file,
                int line) {
  if (status != success) {
    throw Error(detail::concat(call, " failed: ", text_of(status)),
                detail::concat(file, ":", line));
  }
}

}  // namespace weft::nccl_detail

#define WEFT_CUDA_CHECK(call)                                                                  \
  ::weft::nccl_detail::check_call<cudaError_t>((call), cudaSuccess, cudaGetErrorString, #call, \
                                               __FILE__, __LINE__)

#define WEFT_NCCL_CHECK(call)                                                                   \
  ::weft::nccl_detail::check_call<ncclResult_t>((call), ncclSuccess, ncclGetErrorString, #call, \
                                                __FILE__, __LINE__)
