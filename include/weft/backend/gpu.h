#pragma once
// The CUDA device as the rest of weft sees it: whether there is one, starting
// it (streams, cuBLASLt, the memory arena) and what it reports. No CUDA header
// is included here; in a build without the CUDA backend available() is false
// and initialize() refuses with a message.

#include <cstddef>
#include <string>

namespace weft::gpu {

// A build with the CUDA backend and at least one usable device.
bool available();

struct Options {
  int device = -1;             // -1: keep the current one (the NCCL bootstrap picks the node-local rank's)
  // 0: arena_fraction of the free memory. The environment's WEFT_GPU_ARENA_MB
  // overrides both: compute-sanitizer checks accesses per allocation, and
  // cannot see an overrun inside one arena of 70 GB.
  size_t arena_bytes = 0;
  double arena_fraction = 0.9;
  bool tf32 = false;           // TF32 tensor cores for f32 GEMMs (off: the 1e-5 fp32 budget holds)
};

// Selects the device and creates the compute and communication streams, the
// cuBLASLt handle and workspace, and the one arena every CUDA tensor comes
// from. A second call with the same options does nothing; with other options
// it throws.
void initialize(const Options& options = {});
bool initialized();

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"
std::string describe();

struct MemoryStats {
  size_t capacity = 0;  // the arena's size
  size_t in_use = 0;
  size_t peak = 0;      // most in use at once since start-up or reset_peak()
};
MemoryStats memory_stats();
void reset_peak();

// Waits for all work on the compute stream; errors from earlier kernels
// surface here, named.
void synchronize();

// The stream every kernel and GEMM runs on, and the one collectives run on,
// as void* (cudaStream_t) for code that cannot include CUDA headers.
void* compute_stream();
void* comm_stream();

}  // namespace weft::gpu
