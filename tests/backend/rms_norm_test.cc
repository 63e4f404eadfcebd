// rms_norm_forward/backward: values and the cached rstd against a double
// reference, gradients of x and gamma against finite differences, dgamma's
// accumulation, outputs over their inputs, bf16 against f32, and refusals.

#include "weft/backend/rms_norm.h"

#include <gmock/gmock.h>

#include <cmath>

#include "ops_testing.h"
#include "support/error_testing.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

constexpr double kEps = 1e-5;

struct Reference {
  std::vector<double> y, rstd;
};

Reference reference(const Tensor& x, const Tensor& gamma) {
  const std::vector<double> xs = x.to_double_vector(), g = gamma.to_double_vector();
  const int64_t d = x.dim(-1), rows = x.numel() / d;
  Reference ref{std::vector<double>(xs.size()), {}};
  for (int64_t r = 0; r < rows; ++r) {
    double squares = 0.0;
    for (int64_t i = 0; i < d; ++i) squares += xs[r * d + i] * xs[r * d + i] / d;
    const double rstd = 1.0 / std::sqrt(squares + kEps);
    for (int64_t i = 0; i < d; ++i) ref.y[r * d + i] = xs[r * d + i] * rstd * g[i];
    ref.rstd.push_back(rstd);
  }
  return ref;
}

class RmsNormForward : public FloatingTest {};

TEST_P(RmsNormForward, MatchesReferenceAndCachesRstd) {
  const DType dt = GetParam();
  const Tensor x = random_tensor({3, 5, 13}, dt, 1, -2.0, 3.0);
  const Tensor gamma = random_tensor({13}, dt, 2, 0.5, 1.5);
  Tensor y = Tensor::empty(x.shape(), dt);
  Tensor rstd = Tensor::empty({3, 5}, dt);  // x's leading dimensions, or (15)
  ops::rms_norm_forward(x, gamma, kEps, y, rstd);
  const Reference ref = reference(x, gamma);
  EXPECT_TRUE(matches_reference(y, ref.y));
  EXPECT_TRUE(matches_reference(rstd, ref.rstd));
}

// Above the parallel threshold, rows of one element and y written over x.
TEST_P(RmsNormForward, ManyRowsInPlace) {
  const DType dt = GetParam();
  for (const Shape& shape : {Shape{1031, 37}, Shape{9, 1}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor x = random_tensor(shape, dt, 3);
    const Tensor gamma = random_tensor({shape.back()}, dt, 4, 0.5, 1.5);
    const Reference ref = reference(x, gamma);
    Tensor y = x.clone(), rstd = Tensor::empty({shape[0]}, dt);
    ops::rms_norm_forward(y, gamma, kEps, y, rstd);
    EXPECT_TRUE(matches_reference(y, ref.y));
    EXPECT_TRUE(matches_reference(rstd, ref.rstd));
  }
}

WEFT_FLOATING_SUITE(RmsNormForward);

struct Problem {
  Tensor x, gamma, y, rstd, w;
  explicit Problem(const Shape& shape)
      : x(random_tensor(shape, DType::F64, 11, -2.0, 2.0)),
        gamma(random_tensor({shape.back()}, DType::F64, 12, 0.5, 1.5)),
        y(Tensor::empty(shape, DType::F64)),
        rstd(Tensor::empty({x.numel() / shape.back()}, DType::F64)),
        w(random_tensor(shape, DType::F64, 13)) {}
  double loss() {
    ops::rms_norm_forward(x, gamma, kEps, y, rstd);
    return dot(y, w);
  }
};

TEST(RmsNormBackward, MatchesFiniteDifferencesAndAccumulatesGamma) {
  Problem p({3, 5, 13});
  p.loss();
  Tensor dx = Tensor::empty(p.x.shape(), DType::F64);
  ops::fill(dx, std::nan(""));  // written
  Tensor dgamma = random_tensor({13}, DType::F64, 14);
  const Tensor dgamma0 = dgamma.clone();
  ops::rms_norm_backward(p.w, p.x, p.gamma, p.rstd, dx, dgamma);
  ops::axpy(-1.0, dgamma0, dgamma);  // accumulated onto what was there
  auto loss = [&] { return p.loss(); };
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, p.x));
  EXPECT_TRUE(matches_numeric_gradient(dgamma, loss, p.gamma));
}

// More rows than the kernel's 64 chunks of dgamma partial sums, and dx
// written over dy.
TEST(RmsNormBackward, ManyRowsAndDxOverDy) {
  Problem p({201, 7});
  p.loss();
  Tensor dx = p.w.clone(), dgamma = zeros_like(p.gamma);
  ops::rms_norm_backward(dx, p.x, p.gamma, p.rstd, dx, dgamma);
  auto loss = [&] { return p.loss(); };
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, p.x));
  EXPECT_TRUE(matches_numeric_gradient(dgamma, loss, p.gamma));
}

TEST(RmsNormBackward, F32MatchesF64) {
  Problem p({257, 96});
  p.loss();
  Tensor dx = zeros_like(p.x), dgamma = zeros_like(p.gamma);
  ops::rms_norm_backward(p.w, p.x, p.gamma, p.rstd, dx, dgamma);
  const Tensor x = cast(p.x, DType::F32), g = cast(p.gamma, DType::F32), w = cast(p.w, DType::F32);
  Tensor y = zeros_like(x), rstd = Tensor::empty({257});
  ops::rms_norm_forward(x, g, kEps, y, rstd);
  Tensor dx32 = zeros_like(x), dg32 = zeros_like(g);
  ops::rms_norm_backward(w, x, g, rstd, dx32, dg32);
  EXPECT_TRUE(all_close(dx32, dx, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(dg32, dgamma, 1e-5, 1e-5));
}

// bf16 tensors (f32 rstd and main gradient, as mixed precision keeps them)
// against the f32 op on the same values, within bf16's tolerance.
TEST(RmsNormBf16, MatchesF32) {
  const Tensor x = random_tensor({37, 67}, DType::BF16, 21, -2.0, 3.0);
  const Tensor dy = random_tensor(x.shape(), DType::BF16, 22);
  const Tensor gamma = random_tensor({67}, DType::BF16, 23, 0.5, 1.5);
  Tensor y = zeros_like(x), rstd = Tensor::empty({37}), dx = zeros_like(x);
  Tensor dgamma = random_tensor({67}, DType::F32, 24);
  Tensor y32 = Tensor::zeros(x.shape()), rstd32 = Tensor::empty({37});
  Tensor dx32 = Tensor::zeros(x.shape()), dgamma32 = dgamma.clone();
  ops::rms_norm_forward(x, gamma, kEps, y, rstd);
  ops::rms_norm_backward(dy, x, gamma, rstd, dx, dgamma);
  const Tensor x32 = cast(x, DType::F32), gamma32 = cast(gamma, DType::F32);
  ops::rms_norm_forward(x32, gamma32, kEps, y32, rstd32);
  ops::rms_norm_backward(cast(dy, DType::F32), x32, gamma32, rstd32, dx32, dgamma32);
  const Tolerance tol = tolerance_for(DType::BF16);
  EXPECT_TRUE(all_close(y, y32, tol.rel, tol.abs));
  EXPECT_TRUE(all_close(rstd, rstd32, tol.rel, tol.abs));
  EXPECT_TRUE(all_close(dx, dx32, tol.rel, tol.abs));
  EXPECT_TRUE(all_close(dgamma, dgamma32, tol.rel, tol.abs));
}

TEST(RmsNormChecks, RefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({3, 5, 13});
  const Tensor gamma = Tensor::zeros({13});
  Tensor y = zeros_like(x), rstd = Tensor::zeros({15});
  Tensor short_gamma = Tensor::zeros({12}), gamma64 = Tensor::zeros({13}, DType::F64);
  Tensor rstd64 = Tensor::zeros({15}, DType::F64), bad_rstd = Tensor::zeros({5, 3});
  Tensor y_wrong = Tensor::zeros({3, 13, 5}), ids = Tensor::zeros({3, 5, 13}, DType::I32);
  EXPECT_NO_THROW(ops::rms_norm_forward(x, gamma, kEps, y, rstd));
  EXPECT_THROW(ops::rms_norm_forward(x, short_gamma, kEps, y, rstd), Error);
  EXPECT_THROW(ops::rms_norm_forward(x, gamma64, kEps, y, rstd), Error);
  EXPECT_THROW(ops::rms_norm_forward(x, gamma, kEps, y, rstd64), Error);
  EXPECT_THROW(ops::rms_norm_forward(x, gamma, kEps, y, bad_rstd), Error);
  EXPECT_THROW(ops::rms_norm_forward(x, gamma, kEps, y_wrong, rstd), Error);
  EXPECT_THROW(ops::rms_norm_forward(x, gamma, -1.0, y, rstd), Error);
  EXPECT_THROW(ops::rms_norm_forward(ids, gamma, kEps, y, rstd), Error);
  Tensor dx = zeros_like(x), dgamma = zeros_like(gamma), dgamma64 = zeros_like(gamma64);
  EXPECT_NO_THROW(ops::rms_norm_backward(y, x, gamma, rstd, dx, dgamma));
  EXPECT_THROW(ops::rms_norm_backward(y_wrong, x, gamma, rstd, dx, dgamma), Error);
  EXPECT_THROW(ops::rms_norm_backward(y, x, gamma, bad_rstd, dx, dgamma), Error);
  EXPECT_THROW(ops::rms_norm_backward(y, x, gamma, rstd, y_wrong, dgamma), Error);
  EXPECT_THROW(ops::rms_norm_backward(y, x, gamma, rstd, dx, short_gamma), Error);
  // Only bf16 gamma takes a gradient of another dtype (its f32 main gradient).
  EXPECT_THROW(ops::rms_norm_backward(y, x, gamma, rstd, dx, dgamma64), Error);
}

TEST(RmsNormChecks, MessagesNameOpAndArgument) {
  const Tensor x = Tensor::zeros({3, 13}), short_gamma = Tensor::zeros({12});
  Tensor y = zeros_like(x), rstd = Tensor::zeros({3}), bad_rstd = Tensor::zeros({4});
  EXPECT_THAT(error_of([&] { ops::rms_norm_forward(x, short_gamma, kEps, y, rstd); }),
              HasSubstr("rms_norm_forward: gamma must have shape [13]"));
  Tensor dx = zeros_like(x), dgamma = Tensor::zeros({13});
  EXPECT_THAT(error_of([&] { ops::rms_norm_backward(y, x, dgamma, bad_rstd, dx, dgamma); }),
              HasSubstr("rms_norm_backward: rstd must be f32[3]"));
}

}  // namespace
}  // namespace weft::testing
