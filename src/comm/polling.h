#pragma once
// Waiting with a deadline for work that completes elsewhere (an MPI request,
// a CUDA event), shared by the MPI and NCCL communicators.

#include <functional>

namespace weft {

// Calls `done` until it returns true, then returns true; returns false once
// `timeout_seconds` have passed (<= 0: no limit). Exceptions from `done`
// propagate.
bool poll_until(double timeout_seconds, const std::function<bool()>& done);

}  // namespace weft
