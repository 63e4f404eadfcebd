// rotary_forward/backward: values against the rotate-half formula in double,
// the f32 angle as Hugging Face forms it, the backward against finite
// differences and as the inverse rotation, outputs over their inputs, bf16
// against f32, and refusals.

#include "weft/backend/rotary.h"

#include <gmock/gmock.h>

#include <cmath>

#include "ops_testing.h"
#include "support/error_testing.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

// The angle of pair i at position p for head size dh, as the reference takes it.
using AngleFn = std::function<double(int64_t p, int64_t i, int64_t dh)>;

AngleFn double_angle(double theta) {
  return [theta](int64_t p, int64_t i, int64_t dh) {
    return static_cast<double>(p) * std::pow(theta, -2.0 * static_cast<double>(i) / dh);
  };
}

// x (B,T,H,Dh) turned by angle(start + t, i, Dh); sign −1 turns back.
std::vector<double> reference(const Tensor& x, int64_t start, const AngleFn& angle,
                              double sign = 1.0) {
  const std::vector<double> xs = x.to_double_vector();
  const int64_t t_len = x.dim(1), heads = x.dim(2), dh = x.dim(3), half = dh / 2;
  std::vector<double> y(xs.size());
  for (int64_t r = 0; r < x.numel() / dh; ++r) {
    const int64_t p = start + r / heads % t_len;
    for (int64_t i = 0; i < half; ++i) {
      const double a = angle(p, i, dh), c = std::cos(a), s = sign * std::sin(a);
      const double lo = xs[r * dh + i], hi = xs[r * dh + half + i];
      y[r * dh + i] = lo * c - hi * s;
      y[r * dh + half + i] = hi * c + lo * s;
    }
  }
  return y;
}

struct Case {
  Shape shape;
  int64_t start;
  double theta;
};

// Odd batch, length and head counts; Dh of 2 (one pair) and off every pack
// width; LLaMA 2's and LLaMA 3's bases.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {{2, 7, 3, 10}, 3, 10000.0}, {{3, 5, 1, 2}, 0, 10000.0}, {{1, 9, 5, 22}, 11, 500000.0}};
  return all;
}

class RotaryForward : public FloatingTest {};

TEST_P(RotaryForward, MatchesReference) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_str(c.shape) + " from " + std::to_string(c.start));
    const Tensor x = random_tensor(c.shape, GetParam(), 1);
    Tensor y = zeros_like(x);
    ops::rotary_forward(x, c.start, c.theta, y);
    EXPECT_TRUE(matches_reference(y, reference(x, c.start, double_angle(c.theta))));
  }
}

TEST_P(RotaryForward, InPlaceAndManyRows) {
  const Tensor x = random_tensor({3, 19, 9, 64}, GetParam(), 2);  // above the parallel threshold
  Tensor y = x.clone();
  ops::rotary_forward(y, 2, 10000.0, y);
  EXPECT_TRUE(matches_reference(y, reference(x, 2, double_angle(10000.0))));
}

WEFT_FLOATING_SUITE(RotaryForward);

// Far into a sequence the f32 angle differs from the exact one by more than
// f32's tolerance; weft takes it as transformers does, every step in f32.
TEST(RotaryAngle, F32AngleIsHuggingFaces) {
  const int64_t start = 4090;
  const Tensor x = random_tensor({1, 6, 2, 64}, DType::F32, 3);
  Tensor y = zeros_like(x);
  ops::rotary_forward(x, start, 10000.0, y);
  const AngleFn hf_angle = [](int64_t p, int64_t i, int64_t dh) {
    const float inv_freq =
        1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(dh));
    return static_cast<double>(static_cast<float>(p) * inv_freq);
  };
  EXPECT_TRUE(matches_reference(y, reference(x, start, hf_angle)));
  EXPECT_FALSE(matches_reference(y, reference(x, start, double_angle(10000.0))));
}

TEST(RotaryBackward, MatchesFiniteDifferences) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_str(c.shape) + " from " + std::to_string(c.start));
    Tensor x = random_tensor(c.shape, DType::F64, 4);
    const Tensor w = random_tensor(c.shape, DType::F64, 5);
    Tensor y = zeros_like(x);
    auto loss = [&] {
      ops::rotary_forward(x, c.start, c.theta, y);
      return dot(y, w);
    };
    Tensor dx = w.clone();
    ops::rotary_backward(dx, c.start, c.theta, dx);  // dx over dy
    EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
    // A rotation's transpose is its inverse.
    EXPECT_TRUE(matches_reference(dx, reference(w, c.start, double_angle(c.theta), -1.0)));
  }
}

// bf16 read as stored and turned in f32: the f32 op on the same values,
// within bf16's tolerance, both ways.
TEST(RotaryBf16, MatchesF32) {
  const Tensor x = random_tensor({2, 13, 3, 46}, DType::BF16, 6);
  const Tensor x32 = cast(x, DType::F32);
  Tensor y = zeros_like(x), y32 = zeros_like(x32);
  ops::rotary_forward(x, 5, 10000.0, y);
  ops::rotary_forward(x32, 5, 10000.0, y32);
  const Tolerance tol = tolerance_for(DType::BF16);
  EXPECT_TRUE(all_close(y, y32, tol.rel, tol.abs));
  ops::rotary_backward(x, 5, 10000.0, y);
  ops::rotary_backward(x32, 5, 10000.0, y32);
  EXPECT_TRUE(all_close(y, y32, tol.rel, tol.abs));
}

TEST(RotaryChecks, RefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({2, 3, 4, 8});
  Tensor y = zeros_like(x), y64 = Tensor::zeros({2, 3, 4, 8}, DType::F64);
  Tensor odd = Tensor::zeros({2, 3, 4, 7}), flat = Tensor::zeros({6, 4, 8});
  Tensor y_wrong = Tensor::zeros({2, 4, 3, 8}), ids = Tensor::zeros({2, 3, 4, 8}, DType::I32);
  EXPECT_NO_THROW(ops::rotary_forward(x, 0, 10000.0, y));
  EXPECT_THROW(ops::rotary_forward(x, 0, 10000.0, y64), Error);
  EXPECT_THROW(ops::rotary_forward(x, 0, 10000.0, y_wrong), Error);
  EXPECT_THROW(ops::rotary_forward(flat, 0, 10000.0, flat), Error);
  EXPECT_THROW(ops::rotary_forward(ids, 0, 10000.0, ids), Error);
  EXPECT_THAT(error_of([&] { ops::rotary_forward(odd, 0, 10000.0, odd); }),
              HasSubstr("rotary_forward: x's head size Dh must be even"));
  EXPECT_THAT(error_of([&] { ops::rotary_forward(x, -1, 10000.0, y); }),
              HasSubstr("rotary_forward: start must be >= 0"));
  EXPECT_THAT(error_of([&] { ops::rotary_backward(x, 0, 0.0, y); }),
              HasSubstr("rotary_backward: theta must be a positive number"));
  EXPECT_THROW(ops::rotary_backward(x, 0, std::nan(""), y), Error);
  EXPECT_THAT(error_of([&] { ops::rotary_backward(x, 0, 10000.0, y_wrong); }),
              HasSubstr("rotary_backward: dx must be f32[2, 3, 4, 8]"));
}

}  // namespace
}  // namespace weft::testing
