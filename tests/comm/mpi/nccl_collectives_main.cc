// The collective tables (tests/comm/collective_driver.h) on CUDA tensors
// through the NCCL communicator. ctest runs it as `mpirun -np 1` (one GPU is
// all a test machine is sure to have); it takes any number of processes, one
// GPU each. Without a GPU it prints "no GPU: skipped" and exits 77, which
// ctest reports as skipped. Its own main() initialises MPI and the GPU, lets
// rank 0 print gtest's report while the other ranks print only their
// failures, and exits non-zero on every rank when any rank failed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "collective_driver.h"
#include "support/tensor_testing.h"
#include "weft/backend/gpu.h"
#include "weft/comm/nccl.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

std::shared_ptr<Communicator> g_world;

// The tables' rows, run the way collective_driver.cc runs them on the CPU,
// with every tensor on the GPU. Inputs are copied to the device before a
// collective is issued (the copy from the host completes before it returns),
// and results are read back after wait().
uint64_t row_seed(const char* collective, size_t row) {
  return std::hash<std::string>{}(collective) * 31 + row;
}

std::string where(const Communicator& comm) {
  return detail::concat("rank ", comm.rank(), " of ", comm.describe());
}

::testing::AssertionResult matches(const Tensor& actual, const Tensor& expected, DType dtype) {
  const Tolerance tol = tolerance_for(dtype);
  return all_close(actual, expected, tol.rel, tol.abs);
}

Tensor gpu_input(DType dtype, int64_t count, int rank, uint64_t seed) {
  return rank_input(dtype, count, rank, seed).to(Device::CUDA);
}

// Elements [offset, offset + count) of every rank's input of `total`
// elements, reduced in rank order in double.
Tensor expected_reduction(const CollectiveCase& c, int group_size, int64_t total, int64_t offset,
                          uint64_t seed) {
  Tensor expected = Tensor::empty({c.count}, DType::F64);
  double* e = expected.data<double>();
  for (int q = 0; q < group_size; ++q) {
    const std::vector<double> in = rank_input(c.dtype, total, q, seed).to_double_vector();
    for (int64_t i = 0; i < c.count; ++i) {
      const double x = in[offset + i];
      e[i] = q == 0 ? x : c.op == ReduceOp::Max ? std::max(e[i], x) : e[i] + x;
    }
  }
  if (c.op == ReduceOp::Average) {
    for (int64_t i = 0; i < c.count; ++i) e[i] /= group_size;
  }
  return expected;
}

void check_all_reduce_on_gpu(Communicator& comm, Mode mode) {
  const auto& table = all_reduce_table();
  std::vector<Tensor> t;
  for (size_t k = 0; k < table.size(); ++k) {
    t.push_back(gpu_input(table[k].dtype, table[k].count, comm.rank(), row_seed("ar", k)));
  }
  std::vector<Pending> pending;
  for (size_t k = 0; k < table.size(); ++k) {
    if (mode == Mode::Blocking) {
      comm.all_reduce(t[k], table[k].op);
    } else {
      pending.push_back(comm.all_reduce_async(t[k], table[k].op));
    }
  }
  for (size_t k = pending.size(); k-- > 0;) pending[k]->wait();
  for (size_t k = 0; k < table.size(); ++k) {
    const CollectiveCase& c = table[k];
    EXPECT_TRUE(matches(t[k], expected_reduction(c, comm.size(), c.count, 0, row_seed("ar", k)),
                        c.dtype))
        << where(comm) << ": " << case_name("all_reduce", c);
  }
}

void check_reduce_scatter_on_gpu(Communicator& comm, Mode mode) {
  const auto& table = reduce_scatter_table();
  const int n = comm.size(), r = comm.rank();
  std::vector<Tensor> in, out;
  for (size_t k = 0; k < table.size(); ++k) {
    in.push_back(gpu_input(table[k].dtype, table[k].count * n, r, row_seed("rs", k)));
    out.push_back(Tensor::empty({table[k].count}, table[k].dtype, Device::CUDA));
  }
  std::vector<Pending> pending;
  for (size_t k = 0; k < table.size(); ++k) {
    if (mode == Mode::Blocking) {
      comm.reduce_scatter(in[k], out[k], table[k].op);
    } else {
      pending.push_back(comm.reduce_scatter_async(in[k], out[k], table[k].op));
    }
  }
  for (size_t k = pending.size(); k-- > 0;) pending[k]->wait();
  for (size_t k = 0; k < table.size(); ++k) {
    const CollectiveCase& c = table[k];
    const Tensor expected =
        expected_reduction(c, n, c.count * n, r * c.count, row_seed("rs", k));
    EXPECT_TRUE(matches(out[k], expected, c.dtype))
        << where(comm) << ": " << case_name("reduce_scatter", c);
  }
}

void check_all_gather_on_gpu(Communicator& comm, Mode mode) {
  const auto& table = all_gather_table();
  const int n = comm.size();
  std::vector<Tensor> in, out;
  for (size_t k = 0; k < table.size(); ++k) {
    in.push_back(gpu_input(table[k].dtype, table[k].count, comm.rank(), row_seed("ag", k)));
    out.push_back(Tensor::empty({table[k].count * n}, table[k].dtype, Device::CUDA));
  }
  std::vector<Pending> pending;
  for (size_t k = 0; k < table.size(); ++k) {
    if (mode == Mode::Blocking) {
      comm.all_gather(in[k], out[k]);
    } else {
      pending.push_back(comm.all_gather_async(in[k], out[k]));
    }
  }
  for (size_t k = pending.size(); k-- > 0;) pending[k]->wait();
  for (size_t k = 0; k < table.size(); ++k) {
    const int64_t count = table[k].count;
    const Tensor gathered = out[k].to(Device::CPU);
    for (int q = 0; q < n; ++q) {
      EXPECT_TRUE(matches(gathered.rows(q * count, (q + 1) * count),
                          rank_input(table[k].dtype, count, q, row_seed("ag", k)), table[k].dtype))
          << where(comm) << ": " << case_name("all_gather", table[k]) << ", chunk " << q;
    }
  }
}

void check_broadcast_on_gpu(Communicator& comm) {
  const auto& table = broadcast_table();
  const int n = comm.size();
  std::vector<int> roots = {0, n / 2, n - 1};
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  for (int root : roots) {
    for (size_t k = 0; k < table.size(); ++k) {
      const CollectiveCase& c = table[k];
      Tensor t = gpu_input(c.dtype, c.count, comm.rank(), row_seed("bc", k));
      comm.broadcast(t, root);
      EXPECT_TRUE(matches(t, rank_input(c.dtype, c.count, root, row_seed("bc", k)), c.dtype))
          << where(comm) << ": " << case_name("broadcast", c) << " from root " << root;
    }
  }
}

class NcclCollectives : public ::testing::Test {
 protected:
  Communicator& world() { return *g_world; }
};

TEST_F(NcclCollectives, AllReduce) {
  check_all_reduce_on_gpu(world(), Mode::Blocking);
  check_all_reduce_on_gpu(world(), Mode::Async);
}

TEST_F(NcclCollectives, ReduceScatter) {
  check_reduce_scatter_on_gpu(world(), Mode::Blocking);
  check_reduce_scatter_on_gpu(world(), Mode::Async);
}

TEST_F(NcclCollectives, AllGather) {
  check_all_gather_on_gpu(world(), Mode::Blocking);
  check_all_gather_on_gpu(world(), Mode::Async);
}

TEST_F(NcclCollectives, BroadcastAndBarrier) {
  check_broadcast_on_gpu(world());
  for (int i = 0; i < 3; ++i) world().barrier();
}

// Groups split from the world (every rank in one group, then each alone)
// run the tables too.
TEST_F(NcclCollectives, Split) {
  const int r = world().rank();
  for (const auto& [color, key] : {std::pair{0, -r}, std::pair{r, 0}}) {
    std::shared_ptr<Communicator> group = world().split(color, key);
    SCOPED_TRACE(group->describe());
    check_all_reduce_on_gpu(*group, Mode::Async);
    check_reduce_scatter_on_gpu(*group, Mode::Blocking);
    check_all_gather_on_gpu(*group, Mode::Async);
    check_broadcast_on_gpu(*group);
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
    EXPECT_NEAR(got[i], expected[i], 1e-12 * std::abs(expected[i])) << where(world()) << ", " << i;
  }
  check_all_reduce_on_gpu(world(), Mode::Blocking);  // the group still works
}

// The other ranks' report: only failures, each prefixed with the rank.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
  }

 private:
  int rank_;
};

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
  Communicator& world = *weft::testing::g_world;
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new weft::testing::FailurePrinter(world.rank()));
  }
  const int32_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;

  // Every rank's verdict, so that a failure on any rank fails every rank.
  Tensor mine = Tensor::from_vector(std::vector<int32_t>{failed}, {1}, Device::CUDA);
  Tensor all = Tensor::empty({world.size()}, DType::I32, Device::CUDA);
  world.all_gather(mine, all);
  const Tensor verdicts = all.to(Device::CPU);
  std::string failing;
  for (int r = 0; r < world.size(); ++r) {
    if (verdicts.data<int32_t>()[r] != 0) failing += " " + std::to_string(r);
  }
  if (world.rank() == 0) {
    std::printf("%s\n", failing.empty() ? "nccl collectives: every rank passed"
                                        : ("nccl collectives: FAILED on rank(s)" + failing).c_str());
  }
  weft::testing::g_world.reset();
  return failing.empty() ? 0 : 1;
}
