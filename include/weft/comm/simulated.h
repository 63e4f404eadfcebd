#pragma once
// Simulated ranks: N threads of one process exchanging through shared
// memory, for CI, debugging and laptops (`--parallel.simulate-ranks N`).
// Collectives meet at a rendezvous; each rank reduces its own slice of the
// elements, in rank order, so every rank ends with the same bits and the
// work is spread over the threads. Asynchronous collectives run on one
// background thread per communicator, in the order they were issued.

#include <functional>
#include <memory>
#include <vector>

#include "weft/comm/communicator.h"

namespace weft {

// The world communicators of n simulated ranks; element r belongs to rank r
// and must be used from one thread only.
std::vector<std::shared_ptr<Communicator>> make_simulated_world(int n, CommOptions options = {});

// Runs body(rank's world communicator) on n threads and joins them. OpenMP
// threads are divided among the ranks. When a rank throws, every collective
// in flight or issued later fails with "rank R failed", so no rank hangs; the
// first rank's own failure (not a consequence of another's) is rethrown.
void run_simulated_ranks(int n, const std::function<void(std::shared_ptr<Communicator>)>& body,
                         CommOptions options = {});

}  // namespace weft
