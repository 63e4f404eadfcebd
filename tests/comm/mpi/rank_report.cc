#include "rank_report.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace weft::testing {
namespace {

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

int run_tests_on_every_rank(Communicator& world, Device device, const char* suite) {
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(world.rank()));
  }
  const int32_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;

  Tensor mine = Tensor::from_vector(std::vector<int32_t>{failed}, {1}, device);
  Tensor all = Tensor::empty({world.size()}, DType::I32, device);
  world.all_gather(mine, all);
  const Tensor verdicts = device == Device::CPU ? all : all.to(Device::CPU);
  std::string failing;
  for (int r = 0; r < world.size(); ++r) {
    if (verdicts.data<int32_t>()[r] != 0) failing += " " + std::to_string(r);
  }
  if (world.rank() == 0) {
    std::printf("%s: %s\n", suite,
                failing.empty() ? "every rank passed" : ("FAILED on rank(s)" + failing).c_str());
  }
  return failing.empty() ? 0 : 1;
}

}  // namespace weft::testing
