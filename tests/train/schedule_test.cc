// Schedules against values worked out by hand (quoted to 10+ digits).

#include "weft/train/schedule.h"

#include <gtest/gtest.h>

#include <string>

#include "support/error_testing.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;

// Relative tolerance: the values below are exact to ~1e-15.
void expect_lr(const Schedule& s, int64_t step, double expected) {
  EXPECT_NEAR(s.lr(step), expected, 1e-12 * expected + 1e-18) << s.describe() << " step " << step;
}

TEST(Schedule, ConstantIsConstant) {
  ConstantSchedule s(3e-4);
  expect_lr(s, 1, 3e-4);
  expect_lr(s, 1000000, 3e-4);
  EXPECT_NE(error_of([] { ConstantSchedule(-1.0); }).find("lr"), std::string::npos);
}

TEST(Schedule, NoamMatchesThePaper) {
  // d_model^-0.5 = 512^-0.5 = 0.04419417382; warmup^-1.5 = 4000^-1.5 = 3.952847075e-6.
  NoamSchedule s(512, 4000);
  expect_lr(s, 1, 1.746928107421711e-07);       // 0.0441941738 · 1 · 3.9528e-6
  expect_lr(s, 100, 1.746928107421711e-05);     // linear: 100× step 1
  expect_lr(s, 3999, 6.985965501579421e-04);    // still on the ramp
  expect_lr(s, 4000, 6.987712429686843e-04);    // peak: both branches equal 4000^-0.5
  expect_lr(s, 4001, 6.98683912937353e-04);     // 0.0441941738 · 4001^-0.5
  expect_lr(s, 16000, 3.4938562148434214e-04);  // 4× the peak step: half the peak
}

TEST(Schedule, NoamFactorScales) {
  // 2 · 64^-0.5 = 0.25; 10^-1.5 = 0.0316227766.
  NoamSchedule s(64, 10, 2.0);
  expect_lr(s, 1, 0.007905694150420948);
  expect_lr(s, 10, 0.07905694150420947);
  expect_lr(s, 40, 0.03952847075210474);  // 0.25 · 40^-0.5
}

TEST(Schedule, NoamRefusesBadArguments) {
  EXPECT_NE(error_of([] { NoamSchedule(512, 0); }).find("warmup"), std::string::npos);
  EXPECT_NE(error_of([] { NoamSchedule(0, 4000); }).find("d_model"), std::string::npos);
  EXPECT_NE(error_of([] { NoamSchedule(512, 10, 0.0); }).find("factor"), std::string::npos);
  EXPECT_NE(error_of([] { NoamSchedule(512, 10).lr(0); }).find("1-based"), std::string::npos);
}

TEST(Schedule, WarmupCosineHasNanoGptsShape) {
  // max 6e-4, min 6e-5, warm-up 10 steps, cosine over steps 10..110 (span 100).
  WarmupCosineSchedule s(6e-4, 6e-5, 10, 110);
  expect_lr(s, 1, 6e-5);   // 6e-4 · 1/10
  expect_lr(s, 5, 3e-4);   // 6e-4 · 5/10
  expect_lr(s, 10, 6e-4);  // end of warm-up: the peak
  // ratio 0.01: 6e-5 + 0.5·(1 + cos(0.01π))·5.4e-4
  expect_lr(s, 11, 5.998667712987475e-04);
  // ratio 0.25: 6e-5 + 0.5·(1 + cos(π/4))·5.4e-4 = 6e-5 + 0.8535533906·5.4e-4
  expect_lr(s, 35, 5.209188309203678e-04);
  expect_lr(s, 60, 3.3e-4);  // ratio 0.5: halfway between max and min
  // ratio 0.75: 6e-5 + 0.1464466094·5.4e-4
  expect_lr(s, 85, 1.3908116907963218e-04);
  expect_lr(s, 110, 6e-5);  // min reached at decay_steps
  expect_lr(s, 111, 6e-5);
  expect_lr(s, 1000, 6e-5);
}

TEST(Schedule, WarmupCosineEdgeCases) {
  WarmupCosineSchedule no_warmup(1e-3, 1e-4, 0, 100);
  expect_lr(no_warmup, 50, 1e-4 + 0.5 * (1.0 + 0.0) * 9e-4);  // cos(π/2) = 0
  WarmupCosineSchedule no_decay(1e-3, 1e-4, 10, 10);
  expect_lr(no_decay, 10, 1e-3);
  expect_lr(no_decay, 11, 1e-4);
}

TEST(Schedule, WarmupCosineRefusesBadArguments) {
  EXPECT_NE(error_of([] { WarmupCosineSchedule(1e-4, 1e-3, 10, 100); }).find("min_lr"),
            std::string::npos);
  EXPECT_NE(error_of([] { WarmupCosineSchedule(1e-3, 1e-4, 100, 10); }).find("decay_steps"),
            std::string::npos);
  EXPECT_NE(error_of([] { WarmupCosineSchedule(1e-3, 1e-4, -1, 10); }).find("warmup_steps"),
            std::string::npos);
}

}  // namespace
}  // namespace weft
