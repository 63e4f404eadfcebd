// The per-kernel profiler behind `weft bench --profile`: off, it records
// nothing; on, every dispatch is counted under its kernel's name with the
// time it took, and reset() forgets.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/profiler.h"

namespace weft::testing {
namespace {

const profiler::KernelTime* find(const std::vector<profiler::KernelTime>& times,
                                 const std::string& kernel) {
  const auto it = std::find_if(times.begin(), times.end(),
                               [&](const profiler::KernelTime& t) { return t.kernel == kernel; });
  return it == times.end() ? nullptr : &*it;
}

class Profiler : public ::testing::Test {
 protected:
  void TearDown() override {
    profiler::enable(false);
    profiler::reset();
  }
  Tensor a = Tensor::from_vector(std::vector<float>(64 * 64, 0.5f), {64, 64});
  Tensor b = Tensor::from_vector(std::vector<float>(64 * 64, 0.25f), {64, 64});
  Tensor c = Tensor::zeros({64, 64});
  Tensor bias = Tensor::from_vector(std::vector<float>(64, 1.0f), {64});
};

TEST_F(Profiler, CountsAndTimesEveryDispatchWhileOn) {
  profiler::reset();
  profiler::enable(true);
  ops::gemm(a, false, b, false, c);
  ops::gemm(a, false, b, false, c);
  ops::add_bias(bias, c);
  profiler::enable(false);
  ops::gemm(a, false, b, false, c);  // off again: not counted

  const std::vector<profiler::KernelTime> times = profiler::snapshot();
  const profiler::KernelTime* gemm = find(times, "gemm");
  const profiler::KernelTime* add_bias = find(times, "add_bias");
  ASSERT_NE(gemm, nullptr);
  ASSERT_NE(add_bias, nullptr);
  EXPECT_EQ(gemm->calls, 2);
  EXPECT_EQ(add_bias->calls, 1);
  EXPECT_GT(gemm->seconds, 0.0);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i - 1].seconds, times[i].seconds);

  profiler::reset();
  EXPECT_TRUE(profiler::snapshot().empty());
}

TEST_F(Profiler, RecordsNothingWhenOff) {
  profiler::reset();
  ops::gemm(a, false, b, false, c);
  EXPECT_TRUE(profiler::snapshot().empty());
}

}  // namespace
}  // namespace weft::testing
