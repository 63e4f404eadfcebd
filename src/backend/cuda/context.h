#pragma once
// What every CUDA kernel and GEMM needs: the device, its streams and the
// cuBLASLt handle with its workspace. Created once by gpu::initialize().

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace weft::cuda {

struct Context {
  int device = 0;
  int sm_count = 0;
  int compute_capability = 0;     // 80, 90, ...
  cudaStream_t compute = nullptr;  // kernels and GEMMs, in order
  cudaStream_t comm = nullptr;     // collectives, ordered against compute by events
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;       // cuBLASLt scratch, from the arena
  size_t workspace_bytes = 0;
  bool tf32 = false;
};

// The initialised context; throws weft::Error (naming `op`) when
// gpu::initialize() has not run.
Context& context(const char* op);

// The compute stream, for kernel launches.
inline cudaStream_t stream(const char* op) { return context(op).compute; }

}  // namespace weft::cuda
