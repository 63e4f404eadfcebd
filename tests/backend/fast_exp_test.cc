// The CPU kernels' vectorisable float exp (softmax, cross-entropy, GELU):
// accuracy over the range softmax uses, and the edge values masks rely on.

#include <cmath>
#include <limits>

#include "backend/cpu/cpu_common.h"
#include "ops_testing.h"

namespace weft::testing {
namespace {

TEST(FastExp, WithinTwoUlpOfLibm) {
  double worst = 0.0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f + 175.0f * static_cast<float>(i) / 2000000.0f;  // [-87, 88]
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(cpu::fast_exp(x) - exact) / exact);
  }
  EXPECT_LT(worst, 2.5e-7);  // float epsilon is 1.19e-7
}

TEST(FastExp, EdgeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(cpu::fast_exp(0.0f), 1.0f);
  EXPECT_EQ(cpu::fast_exp(-inf), 0.0f);  // masked softmax entries
  EXPECT_EQ(cpu::fast_exp(-100.0f), 0.0f);
  EXPECT_TRUE(std::isnan(cpu::fast_exp(std::nanf(""))));
  EXPECT_TRUE(std::isfinite(cpu::fast_exp(200.0f)));  // saturates instead of overflowing
}

}  // namespace
}  // namespace weft::testing
