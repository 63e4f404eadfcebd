// The collective tables (tests/comm/collective_driver.h) on CUDA tensors
// through the NCCL communicator. ctest runs it as `mpirun -np 1` (one GPU is
// all a test machine is sure to have); it takes any number of processes, one
// GPU each. Without a GPU it prints "no GPU: skipped" and exits 77, which
// ctest reports as skipped. Its own main() initialises MPI and the GPU and
// reports once for every rank (rank_report.h).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "collective_driver.h"
#include "rank_report.h"
#include "weft/backend/gpu.h"
#include "weft/comm/nccl.h"

namespace weft::testing {
namespace {

std::shared_ptr<Communicator> g_world;

class NcclCollectives : public ::testing::Test {
 protected:
  Communicator& world() { return *g_world; }
};

TEST_F(NcclCollectives, AllReduce) {
  check_all_reduce(world(), Mode::Blocking, Device::CUDA);
  check_all_reduce(world(), Mode::Async, Device::CUDA);
}

TEST_F(NcclCollectives, ReduceScatter) {
  check_reduce_scatter(world(), Mode::Blocking, Device::CUDA);
  check_reduce_scatter(world(), Mode::Async, Device::CUDA);
  check_reduce_scatter(world(), Mode::Async, Device::CUDA, Placement::InPlace);
}

TEST_F(NcclCollectives, AllGather) {
  check_all_gather(world(), Mode::Blocking, Device::CUDA);
  check_all_gather(world(), Mode::Async, Device::CUDA);
  check_all_gather(world(), Mode::DeviceOrdered, Device::CUDA);
  check_all_gather(world(), Mode::Async, Device::CUDA, Placement::InPlace);
}

TEST_F(NcclCollectives, BroadcastAndBarrier) {
  check_broadcast(world(), Device::CUDA);
  check_barrier(world());
}

// Groups split from the world (every rank in one group, then each alone)
// run the tables too.
TEST_F(NcclCollectives, Split) {
  const int r = world().rank();
  for (const auto& [color, key] : {std::pair{0, -r}, std::pair{r, 0}}) {
    std::shared_ptr<Communicator> group = world().split(color, key);
    SCOPED_TRACE(group->describe());
    check_all_reduce(*group, Mode::Async, Device::CUDA);
    check_reduce_scatter(*group, Mode::Blocking, Device::CUDA);
    check_all_gather(*group, Mode::Async, Device::CUDA);
    check_broadcast(*group, Device::CUDA);
  }
}

// Step statistics and stop flags live in host memory; they cross through a
// device copy and come back reduced.
TEST_F(NcclCollectives, HostTensorsCrossThroughTheDevice) {
  Tensor host = rank_input(DType::F64, 7, world().rank(), 1);
  world().all_reduce(host);
  std::vector<double> expected(7, 0.0);
  for (int q = 0; q < world().size(); ++q) {
    const std::vector<double> part = rank_input(DType::F64, 7, q, 1).to_double_vector();
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += part[i];
  }
  EXPECT_EQ(host.device(), Device::CPU);
  const std::vector<double> got = host.to_double_vector();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-12 * std::abs(expected[i]))
        << "rank " << world().rank() << " of " << world().describe() << ", " << i;
  }
  check_all_reduce(world(), Mode::Blocking, Device::CUDA);  // the group still works
}

// Every collective's table on host tensors, each staged through the device.
TEST_F(NcclCollectives, HostTensorTables) {
  check_all_reduce(world(), Mode::Blocking, Device::CPU);
  check_all_reduce(world(), Mode::Async, Device::CPU);
  check_reduce_scatter(world(), Mode::Async, Device::CPU);
  check_all_gather(world(), Mode::Async, Device::CPU);
  check_broadcast(world(), Device::CPU);
}

}  // namespace
}  // namespace weft::testing

int main(int argc, char** argv) {
  using namespace weft;
  ::testing::InitGoogleTest(&argc, argv);
  if (!gpu::available()) {
    std::printf("no GPU: skipped (%s)\n", gpu::describe().c_str());
    return 77;
  }
  // The NCCL world picks this rank's GPU; the arena then starts on it.
  weft::testing::g_world = make_nccl_world(CommOptions{/*timeout_seconds=*/120.0});
  gpu::initialize();
  const int status = weft::testing::run_tests_on_every_rank(*weft::testing::g_world, Device::CUDA,
                                                            "nccl collectives");
  weft::testing::g_world.reset();
  return status;
}
