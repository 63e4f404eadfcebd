#include "polling.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace weft {

bool poll_until(double timeout_seconds, const std::function<bool()>& done) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto limit = std::chrono::duration<double>(timeout_seconds);
  auto pause = std::chrono::microseconds(10);
  for (int tries = 0;; ++tries) {
    if (done()) return true;
    if (timeout_seconds > 0.0 && Clock::now() - start > limit) return false;
    // Spin a little (among ready ranks a collective takes microseconds), then
    // back off so that ranks sharing cores leave them to the others.
    if (tries < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

}  // namespace weft
