// add_layer_norm_forward: the fused residual add + layer norm gives exactly
// what ops::add followed by layer_norm_forward gives (sum, y, mean, rstd),
// also when sum is written over a, and refuses mismatched arguments.

#include <gmock/gmock.h>

#include "ops_testing.h"
#include "support/error_testing.h"
#include "weft/backend/layer_norm.h"

namespace weft::testing {
namespace {

constexpr double kEps = 1e-5;

struct Outputs {
  Tensor sum, y, mean, rstd;
  Outputs(const Tensor& a, int64_t rows)
      : sum(Tensor::empty(a.shape(), a.dtype())),
        y(Tensor::empty(a.shape(), a.dtype())),
        mean(Tensor::empty({rows}, a.dtype())),
        rstd(Tensor::empty({rows}, a.dtype())) {}
};

// The unfused reference: ops::add, then layer_norm_forward on the sum.
Outputs unfused(const Tensor& a, const Tensor& b, const Tensor& gamma, const Tensor& beta) {
  Outputs out(a, a.numel() / a.dim(-1));
  ops::add(a, b, out.sum);
  ops::layer_norm_forward(out.sum, gamma, beta, kEps, out.y, out.mean, out.rstd);
  return out;
}

::testing::AssertionResult identical(const Tensor& actual, const Tensor& expected) {
  return all_close(actual, expected, 0.0, 0.0);
}

class AddLayerNorm : public FloatingTest {};

TEST_P(AddLayerNorm, EqualsAddThenLayerNorm) {
  const DType dt = GetParam();
  // Odd sizes, a wide row (vectorised loops with a tail) and an offset mean.
  for (const Shape& shape : {Shape{3, 5, 13}, Shape{7, 261}, Shape{1, 1}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor a = random_tensor(shape, dt, 1, 3.0, 5.0), b = random_tensor(shape, dt, 2);
    const Tensor gamma = random_tensor({shape.back()}, dt, 3, 0.5, 1.5);
    const Tensor beta = random_tensor({shape.back()}, dt, 4);
    const Outputs expected = unfused(a, b, gamma, beta);
    Outputs out(a, a.numel() / shape.back());
    ops::add_layer_norm_forward(a, b, gamma, beta, kEps, out.sum, out.y, out.mean, out.rstd);
    EXPECT_TRUE(identical(out.sum, expected.sum));
    EXPECT_TRUE(identical(out.y, expected.y));
    EXPECT_TRUE(identical(out.mean, expected.mean));
    EXPECT_TRUE(identical(out.rstd, expected.rstd));
  }
}

// The residual stream is usually updated in place: sum is a.
TEST_P(AddLayerNorm, SumMayAliasA) {
  const DType dt = GetParam();
  const Tensor a0 = random_tensor({9, 33}, dt, 5), b = random_tensor({9, 33}, dt, 6);
  const Tensor gamma = random_tensor({33}, dt, 7), beta = random_tensor({33}, dt, 8);
  const Outputs expected = unfused(a0, b, gamma, beta);
  Tensor a = a0.clone();
  Outputs out(a, 9);
  ops::add_layer_norm_forward(a, b, gamma, beta, kEps, a, out.y, out.mean, out.rstd);
  EXPECT_TRUE(identical(a, expected.sum));
  EXPECT_TRUE(identical(out.y, expected.y));
  EXPECT_TRUE(identical(out.mean, expected.mean));
  EXPECT_TRUE(identical(out.rstd, expected.rstd));
}

WEFT_FLOATING_SUITE(AddLayerNorm);

TEST(AddLayerNormChecks, RefusesMismatchedArguments) {
  const Tensor a = Tensor::zeros({3, 5, 13}), b = zeros_like(a);
  const Tensor gamma = Tensor::zeros({13}), beta = Tensor::zeros({13});
  Tensor sum = zeros_like(a), y = zeros_like(a);
  Tensor mean = Tensor::zeros({3, 5}), rstd = Tensor::zeros({15});  // both shapes accepted
  EXPECT_NO_THROW(ops::add_layer_norm_forward(a, b, gamma, beta, kEps, sum, y, mean, rstd));

  const Tensor b_wrong = Tensor::zeros({3, 13, 5}), gamma_short = Tensor::zeros({12});
  Tensor sum_wrong = Tensor::zeros({15, 13}), y64 = Tensor::zeros({3, 5, 13}, DType::F64);
  Tensor mean_short = Tensor::zeros({14});
  auto run = [&](const Tensor& b_, const Tensor& gamma_, Tensor& sum_, Tensor& y_, Tensor& mean_) {
    return error_of(
        [&] { ops::add_layer_norm_forward(a, b_, gamma_, beta, kEps, sum_, y_, mean_, rstd); });
  };
  using ::testing::HasSubstr;
  EXPECT_THAT(run(b_wrong, gamma, sum, y, mean), HasSubstr("add_layer_norm_forward: b must be"));
  EXPECT_THAT(run(b, gamma_short, sum, y, mean),
              HasSubstr("add_layer_norm_forward: gamma must have shape [13]"));
  EXPECT_THAT(run(b, gamma, sum_wrong, y, mean), HasSubstr("add_layer_norm_forward: sum must be"));
  EXPECT_THAT(run(b, gamma, sum, y64, mean), HasSubstr("add_layer_norm_forward: y must be"));
  EXPECT_THAT(run(b, gamma, sum, y, mean_short),
              HasSubstr("add_layer_norm_forward: mean must be f32[15]"));
  EXPECT_THROW(ops::add_layer_norm_forward(a, b, gamma, beta, -1.0, sum, y, mean, rstd), Error);
  const Tensor scalar = Tensor::zeros({});
  Tensor scalar_out = Tensor::zeros({});
  EXPECT_THAT(error_of([&] {
                ops::add_layer_norm_forward(scalar, scalar, gamma, beta, kEps, scalar_out,
                                            scalar_out, mean, rstd);
              }),
              HasSubstr("add_layer_norm_forward: a must have at least one dimension"));
}

}  // namespace
}  // namespace weft::testing
