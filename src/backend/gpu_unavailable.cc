// Built when the CUDA toolkit was not found: there is no GPU to offer.
#include "backend/cuda/flash_attention_simt.h"
#include "backend/cuda/lt_matmul.h"
#include "weft/backend/gpu.h"
#include "weft/backend/profiler.h"
#include "weft/tensor/error.h"

namespace weft::gpu {

namespace {
[[noreturn]] void refuse(const char* what) {
  throw Error(detail::concat(what, ": this build of weft has no CUDA backend (configure with ",
                             "the CUDA toolkit installed to build it)"));
}
}  // namespace

bool available() { return false; }
void initialize(const Options&) { refuse("gpu::initialize"); }
bool initialized() { return false; }
std::string describe() { return "no CUDA backend in this build"; }
MemoryStats memory_stats() { return {}; }
void reset_peak() {}
void synchronize() {}
void* compute_stream() { refuse("gpu::compute_stream"); }
void* comm_stream() { refuse("gpu::comm_stream"); }

}  // namespace weft::gpu

// No device clock: nothing is dispatched to a GPU in this build.
namespace weft::profiler::detail {
void* device_mark() { return nullptr; }
void record_device(const char*, void*) {}
void read_device_intervals() {}
}  // namespace weft::profiler::detail

// The paths the GPU tests call by name (the SIMT flash attention and the
// cuBLASLt matmul; cudnn_unavailable.cc answers for cuDNN): linked so that
// those tests build here (and skip), refused like everything above.
namespace weft::cuda {

bool try_lt_matmul(const char*, const LtMatmul&) { gpu::refuse("cuda::try_lt_matmul"); }

void simt_flash_attention_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                  double, Tensor&, Tensor&) {
  gpu::refuse("cuda::simt_flash_attention_forward");
}

void simt_flash_attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                   bool, double, const Tensor&, const Tensor&, const Tensor&,
                                   Tensor&, Tensor&, Tensor&) {
  gpu::refuse("cuda::simt_flash_attention_backward");
}

}  // namespace weft::cuda
