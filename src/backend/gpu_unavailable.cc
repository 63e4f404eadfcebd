// Built when the CUDA toolkit was not found: there is no GPU to offer.
#include "weft/backend/gpu.h"
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
