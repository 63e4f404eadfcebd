#pragma once
// Per-kernel wall time, for `weft bench` to say where a step's time goes.
// Off by default; when off, a dispatch costs one relaxed load.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace weft::profiler {

struct KernelTime {
  std::string kernel;
  int64_t calls = 0;
  double seconds = 0.0;
};

void enable(bool on);
void reset();
// Totals since the last reset, largest first.
std::vector<KernelTime> snapshot();

namespace detail {
extern std::atomic<bool> enabled;
void record(const char* kernel, double seconds);
}  // namespace detail

// Times the enclosing scope under `kernel` when profiling is on.
class Scope {
 public:
  explicit Scope(const char* kernel)
      : kernel_(detail::enabled.load(std::memory_order_relaxed) ? kernel : nullptr) {
    if (kernel_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (kernel_) {
      detail::record(kernel_, std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                            start_).count());
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* kernel_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace weft::profiler
