#pragma once
// A Communicator that measures how long its caller waits: the wall time
// spent inside blocking collectives and inside Pending::wait(), added to a
// clock the trainer reads to report the share of a step spent waiting on
// communication. Overlapped work (an asynchronous all-reduce running while
// backward computes) costs nothing here until someone waits for it.

#include <memory>

#include "weft/comm/communicator.h"

namespace weft {

// Seconds waited, summed over every communicator sharing the clock. One
// rank's communicators share one clock; used from that rank's thread only.
struct WaitClock {
  double seconds = 0.0;
};

std::shared_ptr<Communicator> with_wait_clock(std::shared_ptr<Communicator> inner,
                                              std::shared_ptr<WaitClock> clock);

}  // namespace weft
