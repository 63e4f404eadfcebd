// gpu::initialize and friends: the device, its streams, cuBLASLt and the arena.
#include "weft/backend/gpu.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "backend/cuda/arena.h"
#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "weft/tensor/allocator.h"
#include "weft/tensor/error.h"

namespace weft {

namespace cuda::detail {

void fail_call(const char* op, const char* call, const char* text, const char* name,
               const char* file, int line) {
  throw Error(::weft::detail::concat("cuda ", op, ": ", call, " failed: ", text, " (", name, ")"),
              ::weft::detail::concat(file, ":", line));
}

}  // namespace cuda::detail

namespace {

struct State {
  std::mutex mutex;
  bool ready = false;
  gpu::Options options;
  cuda::Context context;
  std::unique_ptr<cuda::Arena> arena;
};

State& state() {
  static State s;
  return s;
}

// cuBLASLt's own recommendation for Hopper is 32 MiB of workspace.
constexpr size_t kWorkspaceBytes = 32u << 20;

bool same(const gpu::Options& a, const gpu::Options& b) {
  return a.device == b.device && a.arena_bytes == b.arena_bytes &&
         a.arena_fraction == b.arena_fraction && a.tf32 == b.tf32;
}

}  // namespace

namespace cuda {

Context& context(const char* op) {
  State& s = state();
  WEFT_CHECK(s.ready, "cuda ", op, ": the GPU is not initialised (gpu::initialize() starts it; ",
             "weft train does so for --train.device cuda)");
  return s.context;
}

}  // namespace cuda

namespace gpu {

bool available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

void initialize(const Options& options) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.ready) {
    WEFT_CHECK(same(options, s.options),
               "gpu::initialize: already started with other options (device, arena size or tf32)");
    return;
  }
  WEFT_CHECK(options.arena_fraction > 0.0 && options.arena_fraction <= 1.0,
             "gpu::initialize: arena fraction must be in (0, 1], got ", options.arena_fraction);
  WEFT_CHECK(available(), "gpu::initialize: no CUDA device is visible (CUDA_VISIBLE_DEVICES='",
             std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES") : "",
             "'); use --train.device cpu");
  cuda::Context& c = s.context;
  if (options.device >= 0) WEFT_CUDA_CALL("initialize", cudaSetDevice(options.device));
  WEFT_CUDA_CALL("initialize", cudaGetDevice(&c.device));
  cudaDeviceProp prop{};
  WEFT_CUDA_CALL("initialize", cudaGetDeviceProperties(&prop, c.device));
  c.sm_count = prop.multiProcessorCount;
  c.compute_capability = prop.major * 10 + prop.minor;
  WEFT_CHECK(c.compute_capability >= 80, "gpu::initialize: ", prop.name, " is sm_",
             c.compute_capability, "; weft's CUDA backend needs sm_80 (Ampere) or newer for bf16");
  WEFT_CUDA_CALL("initialize", cudaStreamCreateWithFlags(&c.compute, cudaStreamNonBlocking));
  WEFT_CUDA_CALL("initialize", cudaStreamCreateWithFlags(&c.comm, cudaStreamNonBlocking));
  WEFT_CUBLAS_CALL("initialize", cublasLtCreate(&c.lt));
  c.tf32 = options.tf32;

  size_t free_bytes = 0, total_bytes = 0;
  WEFT_CUDA_CALL("initialize", cudaMemGetInfo(&free_bytes, &total_bytes));
  size_t capacity = options.arena_bytes;
  if (capacity == 0) capacity = static_cast<size_t>(static_cast<double>(free_bytes) * options.arena_fraction);
  if (const char* mb = std::getenv("WEFT_GPU_ARENA_MB"); mb != nullptr && *mb != '\0') {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(mb, &end, 10);
    WEFT_CHECK(*end == '\0' && value >= 1 && value <= (1ull << 30) && mb[0] != '-',
               "WEFT_GPU_ARENA_MB must be a whole number of MiB in [1, 2^30], got '", mb, "'");
    capacity = static_cast<size_t>(value) << 20;
  }
  WEFT_CHECK(capacity <= free_bytes, "gpu::initialize: an arena of ", capacity,
             " bytes does not fit in the ", free_bytes, " bytes free on ", prop.name);
  s.arena = std::make_unique<cuda::Arena>(capacity);
  // The context must be usable by the arena (its copies run on the compute
  // stream) before anything is allocated from it.
  s.ready = true;
  s.options = options;
  register_allocator(Device::CUDA, s.arena.get());
  c.workspace = s.arena->allocate(kWorkspaceBytes);
  c.workspace_bytes = kWorkspaceBytes;
}

bool initialized() { return state().ready; }

std::string describe() {
  if (!available()) return "no CUDA device";
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "an unreadable CUDA device";
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB",
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
         std::to_string(prop.minor) + ", " + std::to_string(prop.multiProcessorCount) + " SMs, " +
         memory + ")";
}

MemoryStats memory_stats() {
  State& s = state();
  if (!s.ready) return {};
  return {s.arena->capacity(), s.arena->in_use(), s.arena->peak()};
}

void reset_peak() {
  State& s = state();
  if (s.ready) s.arena->reset_peak();
}

void synchronize() {
  if (!state().ready) return;
  WEFT_CUDA_CALL("synchronize", cudaStreamSynchronize(cuda::context("synchronize").compute));
}

void* compute_stream() { return cuda::context("compute_stream").compute; }
void* comm_stream() { return cuda::context("comm_stream").comm; }

}  // namespace gpu
}  // namespace weft
