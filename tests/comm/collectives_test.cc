// Every collective's table (collective_driver.h) over the single rank and
// over simulated ranks of several world sizes, odd ones included.

#include <gtest/gtest.h>

#include "collective_driver.h"
#include "weft/comm/simulated.h"

namespace weft::testing {
namespace {

TEST(SingleRankCollectives, EveryTable) {
  std::shared_ptr<Communicator> comm = make_single_rank_communicator();
  check_all_reduce(*comm, Mode::Blocking);
  check_all_reduce(*comm, Mode::Async);
  check_reduce_scatter(*comm, Mode::Blocking);
  check_reduce_scatter(*comm, Mode::Async);
  check_all_gather(*comm, Mode::Blocking);
  check_all_gather(*comm, Mode::Async);
  check_all_gather(*comm, Mode::DeviceOrdered);
  check_reduce_scatter(*comm, Mode::Async, Device::CPU, Placement::InPlace);
  check_all_gather(*comm, Mode::Async, Device::CPU, Placement::InPlace);
  check_broadcast(*comm);
  check_barrier(*comm);
  check_same_bits(*comm);
  check_mixed_in_flight(*comm);
  check_refusals(*comm);
  check_split(*comm);
}

// The parameter is the number of simulated ranks.
class SimulatedCollectives : public ::testing::TestWithParam<int> {
 protected:
  // Runs `check` on every rank; a rank's failure fails the test instead of hanging it.
  void on_every_rank(const std::function<void(Communicator&)>& check) {
    run_simulated_ranks(
        GetParam(), [&](std::shared_ptr<Communicator> comm) { check(*comm); },
        CommOptions{/*timeout_seconds=*/30.0});
  }
};

TEST_P(SimulatedCollectives, AllReduce) {
  on_every_rank([](Communicator& c) {
    check_all_reduce(c, Mode::Blocking);
    check_all_reduce(c, Mode::Async);
  });
}

TEST_P(SimulatedCollectives, ReduceScatter) {
  on_every_rank([](Communicator& c) {
    check_reduce_scatter(c, Mode::Blocking);
    check_reduce_scatter(c, Mode::Async);
    check_reduce_scatter(c, Mode::Blocking, Device::CPU, Placement::InPlace);
    check_reduce_scatter(c, Mode::Async, Device::CPU, Placement::InPlace);
  });
}

TEST_P(SimulatedCollectives, AllGather) {
  on_every_rank([](Communicator& c) {
    check_all_gather(c, Mode::Blocking);
    check_all_gather(c, Mode::Async);
    check_all_gather(c, Mode::DeviceOrdered);
    check_all_gather(c, Mode::Blocking, Device::CPU, Placement::InPlace);
    check_all_gather(c, Mode::Async, Device::CPU, Placement::InPlace);
  });
}

TEST_P(SimulatedCollectives, BroadcastAndBarrier) {
  on_every_rank([](Communicator& c) {
    check_broadcast(c);
    check_barrier(c);
  });
}

TEST_P(SimulatedCollectives, EveryRankEndsWithTheSameBits) {
  on_every_rank(check_same_bits);
}
TEST_P(SimulatedCollectives, MixedCollectivesInFlight) {
  on_every_rank(check_mixed_in_flight);
}
TEST_P(SimulatedCollectives, RefusesBadArguments) {
  on_every_rank(check_refusals);
}
TEST_P(SimulatedCollectives, Split) {
  on_every_rank(check_split);
}

INSTANTIATE_TEST_SUITE_P(Ranks, SimulatedCollectives, ::testing::Values(2, 3, 4, 8),
                         [](const auto& info) { return std::to_string(info.param); });

}  // namespace
}  // namespace weft::testing
