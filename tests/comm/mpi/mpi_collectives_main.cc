// The collective tables (tests/comm/collective_driver.h) over MPI: the world
// and groups split from it. ctest runs it as `mpirun -n 4`; with fewer than
// two processes every test skips and says so. Its own main() initialises MPI
// and reports once for every rank (rank_report.h).

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "collective_driver.h"
#include "rank_report.h"
#include "support/error_testing.h"
#include "weft/comm/mpi.h"
#include "weft/comm/process_groups.h"
#include "weft/tensor/allocator.h"

namespace weft::testing {
namespace {

std::shared_ptr<Communicator> g_world;

class MpiCollectives : public ::testing::Test {
 protected:
  void SetUp() override {
    if (g_world->size() < 2) {
      GTEST_SKIP() << "needs at least 2 MPI processes, the world has " << g_world->size()
                   << " (run it as mpirun -n 4)";
    }
  }
  Communicator& world() { return *g_world; }
};

TEST_F(MpiCollectives, AllReduce) {
  check_all_reduce(world(), Mode::Blocking);
  check_all_reduce(world(), Mode::Async);
}

TEST_F(MpiCollectives, ReduceScatter) {
  check_reduce_scatter(world(), Mode::Blocking);
  check_reduce_scatter(world(), Mode::Async);
  check_reduce_scatter(world(), Mode::Blocking, Device::CPU, Placement::InPlace);
  check_reduce_scatter(world(), Mode::Async, Device::CPU, Placement::InPlace);
}

TEST_F(MpiCollectives, AllGather) {
  check_all_gather(world(), Mode::Blocking);
  check_all_gather(world(), Mode::Async);
  check_all_gather(world(), Mode::DeviceOrdered);
  check_all_gather(world(), Mode::Blocking, Device::CPU, Placement::InPlace);
  check_all_gather(world(), Mode::Async, Device::CPU, Placement::InPlace);
}

TEST_F(MpiCollectives, BroadcastAndBarrier) {
  check_broadcast(world());
  check_barrier(world());
}

TEST_F(MpiCollectives, EveryRankEndsWithTheSameBits) {
  check_same_bits(world());
}
TEST_F(MpiCollectives, MixedCollectivesInFlight) {
  check_mixed_in_flight(world());
}
TEST_F(MpiCollectives, RefusesBadArguments) {
  check_refusals(world());
}
TEST_F(MpiCollectives, Split) {
  check_split(world());
}

TEST_F(MpiCollectives, ProcessGroupsOfTwo) {
  if (world().size() % 2 != 0) GTEST_SKIP() << "needs an even world, got " << world().size();
  ProcessGroups groups = make_process_groups(g_world, /*tp=*/2);
  EXPECT_EQ(groups.tp_size(), 2);
  EXPECT_EQ(groups.dp_size(), world().size() / 2);
  EXPECT_EQ(groups.tp_rank(), world().rank() % 2);
  EXPECT_EQ(groups.dp_rank(), world().rank() / 2);
  check_all_reduce(*groups.tp, Mode::Async);
  check_all_reduce(*groups.dp, Mode::Async);
}

TEST_F(MpiCollectives, KnowsItsLaunch) {
  EXPECT_TRUE(launched_by_mpi());
  const int local = mpi_local_rank();
  EXPECT_GE(local, 0);
  EXPECT_LT(local, world().size());
  EXPECT_EQ(world().describe(), "mpi world (" + std::to_string(world().size()) + " ranks)");
}

// A "cuda" allocator backed by host memory: enough to build tensors that say
// they are on cuda, which the MPI communicator must refuse.
class HostBackedCudaAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override { return std::malloc(bytes == 0 ? 1 : bytes); }
  void deallocate(void* ptr) override { std::free(ptr); }
  void zero(void* ptr, size_t bytes) override { std::memset(ptr, 0, bytes); }
  void copy_in(void* dst, const void* src, Device, size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy_out(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

TEST_F(MpiCollectives, RefusesCudaTensors) {
  HostBackedCudaAllocator allocator;
  register_allocator(Device::CUDA, &allocator);
  {
    Tensor t = Tensor::zeros({7}, DType::F32, Device::CUDA);
    Tensor gathered = Tensor::zeros({7 * world().size()}, DType::F32, Device::CUDA);
    for (const std::string& message :
         {error_of([&] { world().all_reduce(t); }), error_of([&] { world().broadcast(t, 0); }),
          error_of([&] { world().all_gather(t, gathered); })}) {
      EXPECT_NE(message.find("is not on the cpu"), std::string::npos) << message;
    }
  }
  register_allocator(Device::CUDA, nullptr);
  check_barrier(world());  // nothing was sent
}

}  // namespace
}  // namespace weft::testing

int main(int argc, char** argv) {
  using namespace weft;
  ::testing::InitGoogleTest(&argc, argv);
  weft::testing::g_world = make_mpi_world(CommOptions{/*timeout_seconds=*/60.0});
  const int status = weft::testing::run_tests_on_every_rank(*weft::testing::g_world, Device::CPU,
                                                            "mpi collectives");
  weft::testing::g_world.reset();
  return status;
}
