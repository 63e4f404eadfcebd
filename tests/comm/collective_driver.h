#pragma once
// The collective tables and the one driver that checks them, shared by the
// tests of every communicator (single rank, simulated ranks, MPI, NCCL), in
// the manner of nccl-tests: a small table per collective, one checking loop.
//
// Each case runs a collective over a group on inputs that every rank can
// recompute for every other rank, and compares the result with a direct
// computation in double (tolerance_for the dtype). The checks are
// collective: every rank of the group calls the same function in the same
// order. Mismatches are reported with EXPECT, never ASSERT, so that a
// failure on one rank never skips a collective and hangs the others.

#include <cstdint>
#include <string>
#include <vector>

#include "weft/comm/communicator.h"

namespace weft::testing {

// One row of a collective's table: elements per rank (per chunk for
// reduce_scatter), dtype, and the reduction (unused by gathers and broadcasts).
struct CollectiveCase {
  DType dtype;
  ReduceOp op;
  int64_t count;
};
std::string case_name(const char* collective,
                      const CollectiveCase& c);  // "all_reduce sum f32 x1001"

const std::vector<CollectiveCase>& all_reduce_table();
const std::vector<CollectiveCase>& reduce_scatter_table();
const std::vector<CollectiveCase>& all_gather_table();
const std::vector<CollectiveCase>& broadcast_table();

// Rank `rank`'s input: `count` values, a pure function of (seed, rank,
// index). Multiples of 1/4 in [-7.5, 7.5] (integers ×4 for i32), so sums over
// a few ranks are exact in every dtype.
Tensor rank_input(DType dtype, int64_t count, int rank, uint64_t seed);

// Blocking: each row issued and checked in turn. Async: every row of the
// table issued at once, then waited in reverse order, then checked.
// DeviceOrdered: every row issued, each ordered before later device work
// (wait_on_device) and dropped, then only the last row waited, then checked:
// the blocked output-projection loss's pattern.
enum class Mode { Blocking, Async, DeviceOrdered };

// The tables' tensors live on `device` (CUDA for NCCL): inputs are made on
// the host and copied there before their collective is issued, and results
// are read back after it completes; they must stay on `device`.
void check_all_reduce(Communicator& comm, Mode mode, Device device = Device::CPU);
// In place: the reduce-scatter's output is this rank's chunk of its input,
// the all-gather's input this rank's chunk of its output (ZeRO's buckets).
enum class Placement { Separate, InPlace };
void check_reduce_scatter(Communicator& comm, Mode mode, Device device = Device::CPU,
                          Placement placement = Placement::Separate);
void check_all_gather(Communicator& comm, Mode mode, Device device = Device::CPU,
                      Placement placement = Placement::Separate);
// From the first, middle and last rank.
void check_broadcast(Communicator& comm, Device device = Device::CPU);
void check_barrier(Communicator& comm);
// After every all_reduce row each rank holds the same bits as every other.
void check_same_bits(Communicator& comm);
// Different collectives in flight together, a blocking one issued among
// them, waited in reverse order.
void check_mixed_in_flight(Communicator& comm);
// Bad arguments are refused with a message, before any communication, and
// the group still works afterwards.
void check_refusals(Communicator& comm);
// Splits into groups (odd/even, neighbours, reversed keys, singletons),
// checks each group's size and ranks, and runs the tables over it while the
// other groups run theirs.
void check_split(Communicator& comm);

}  // namespace weft::testing
