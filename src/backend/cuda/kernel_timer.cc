// The profiler's device clock: each profiled CUDA dispatch is bracketed by
// two events on the compute stream, so its interval is the time the device
// spent on the dispatch's kernels, not the host's time to launch them. The
// pairs wait in a list until the profiler reads them; events are reused.
// Called from a destructor, nothing here throws: a failing CUDA call drops
// the interval (the next synchronising call reports the error).

#include <cuda_runtime.h>

#include <mutex>
#include <vector>

#include "weft/backend/gpu.h"
#include "weft/backend/profiler.h"

namespace weft::profiler::detail {

namespace {

struct Interval {
  const char* kernel;
  cudaEvent_t start, end;
};

// Past this many unread intervals they are read at once (a wait for the
// device) to bound the events held; a bench run stays far below it.
constexpr size_t kMaxUnread = 1 << 16;

std::mutex mutex;
std::vector<cudaEvent_t> spare;
std::vector<Interval> unread;

// An event recorded on the compute stream now; null on failure.
cudaEvent_t mark_locked() {
  cudaEvent_t event = nullptr;
  if (!spare.empty()) {
    event = spare.back();
    spare.pop_back();
  } else if (cudaEventCreate(&event) != cudaSuccess) {
    return nullptr;
  }
  if (cudaEventRecord(event, static_cast<cudaStream_t>(gpu::compute_stream())) != cudaSuccess) {
    spare.push_back(event);
    return nullptr;
  }
  return event;
}

void read_locked() {
  for (const Interval& i : unread) {
    float ms = 0.0f;
    if (cudaEventSynchronize(i.end) == cudaSuccess &&
        cudaEventElapsedTime(&ms, i.start, i.end) == cudaSuccess) {
      record(i.kernel, 1e-3 * ms);
    }
    spare.push_back(i.start);
    spare.push_back(i.end);
  }
  unread.clear();
}

}  // namespace

void* device_mark() {
  if (!gpu::initialized()) return nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  return mark_locked();
}

void record_device(const char* kernel, void* start) {
  if (start == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex);
  const cudaEvent_t end = mark_locked();
  if (end == nullptr) {
    spare.push_back(static_cast<cudaEvent_t>(start));
    return;
  }
  unread.push_back({kernel, static_cast<cudaEvent_t>(start), end});
  if (unread.size() >= kMaxUnread) read_locked();
}

void read_device_intervals() {
  std::lock_guard<std::mutex> lock(mutex);
  read_locked();
}

}  // namespace weft::profiler::detail
