#pragma once
// What the mains started by mpirun share: one gtest report per job rather
// than one per rank, and one verdict for every rank.

#include "weft/comm/communicator.h"

namespace weft::testing {

// Runs every test (after ::testing::InitGoogleTest) on every rank of `world`.
// Rank 0 prints gtest's report, the other ranks only their failures, each
// prefixed with the rank. Then the ranks exchange their verdicts over `world`
// (on tensors on `device`), so that a failure on any rank fails every rank;
// rank 0 prints "<suite>: every rank passed" or "<suite>: FAILED on rank(s)
// 1 3". Returns main's exit status.
int run_tests_on_every_rank(Communicator& world, Device device, const char* suite);

}  // namespace weft::testing
