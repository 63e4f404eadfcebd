#pragma once
// Per-kernel time, for `weft bench` to say where a step's time goes. Off by
// default; when off, a dispatch costs one relaxed load.
//
// A CPU kernel is timed by the host clock around its call. A CUDA kernel
// runs after its call returns, so a host clock would time its launch: it is
// timed instead by a pair of events recorded on the compute stream around
// the call, whose interval snapshot() reads once the device has passed them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/tensor/dtype.h"

namespace weft::profiler {

struct KernelTime {
  std::string kernel;
  int64_t calls = 0;
  double seconds = 0.0;
};

void enable(bool on);
// Forgets every total and every interval not yet read.
void reset();
// Totals since the last reset, largest first. Waits for the device to pass
// the events of the CUDA kernels timed so far.
std::vector<KernelTime> snapshot();

namespace detail {
extern std::atomic<bool> enabled;
void record(const char* kernel, double seconds);
// The CUDA backend's event timer (src/backend/cuda/kernel_timer.cc; a build
// without CUDA has stand-ins that time nothing). device_mark() records an
// event on the compute stream and returns it (null when the GPU is not
// started); record_device() records the closing event and keeps the pair;
// read_device_intervals() waits for the kept pairs and record()s them.
void* device_mark();
void record_device(const char* kernel, void* start);
void read_device_intervals();
}  // namespace detail

// Times the enclosing scope under `kernel` when profiling is on: by the host
// clock on the CPU, by compute-stream events on CUDA.
class Scope {
 public:
  Scope(const char* kernel, Device device)
      : kernel_(detail::enabled.load(std::memory_order_relaxed) ? kernel : nullptr),
        on_gpu_(device == Device::CUDA) {
    if (kernel_ == nullptr) return;
    if (on_gpu_) {
      device_start_ = detail::device_mark();
    } else {
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~Scope() {
    if (kernel_ == nullptr) return;
    if (on_gpu_) {
      detail::record_device(kernel_, device_start_);
    } else {
      detail::record(kernel_, std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                            start_).count());
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* kernel_;
  bool on_gpu_;
  std::chrono::steady_clock::time_point start_;
  void* device_start_ = nullptr;
};

}  // namespace weft::profiler
