#include "weft/backend/profiler.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace weft::profiler {
namespace detail {
std::atomic<bool> enabled{false};
}  // namespace detail

namespace {
std::mutex mutex;
std::map<std::string, KernelTime>& totals() {
  static std::map<std::string, KernelTime> t;
  return t;
}
}  // namespace

void enable(bool on) { detail::enabled.store(on, std::memory_order_relaxed); }

void reset() {
  detail::read_device_intervals();
  std::lock_guard<std::mutex> lock(mutex);
  totals().clear();
}

std::vector<KernelTime> snapshot() {
  detail::read_device_intervals();
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<KernelTime> out;
  for (const auto& [name, t] : totals()) out.push_back(t);
  std::sort(out.begin(), out.end(),
            [](const KernelTime& a, const KernelTime& b) { return a.seconds > b.seconds; });
  return out;
}

void detail::record(const char* kernel, double seconds) {
  std::lock_guard<std::mutex> lock(mutex);
  KernelTime& t = totals()[kernel];
  t.kernel = kernel;
  t.calls += 1;
  t.seconds += seconds;
}

}  // namespace weft::profiler
