// layer_norm_forward/backward: values and cached statistics against a double
// reference, gradients of x, gamma, beta against finite differences, and the
// parameter gradients' accumulation.

#include "weft/backend/layer_norm.h"

#include <cmath>

#include "ops_testing.h"

namespace weft::testing {
namespace {

constexpr double kEps = 1e-5;

struct Stats {
  std::vector<double> y, mean, rstd;
};

Stats reference(const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  const std::vector<double> xs = x.to_double_vector(), g = gamma.to_double_vector(),
                            b = beta.to_double_vector();
  const int64_t d = x.dim(-1), rows = x.numel() / d;
  Stats s{std::vector<double>(xs.size()), {}, {}};
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < d; ++i) mean += xs[r * d + i] / d;
    for (int64_t i = 0; i < d; ++i) var += (xs[r * d + i] - mean) * (xs[r * d + i] - mean) / d;
    const double rstd = 1.0 / std::sqrt(var + kEps);
    for (int64_t i = 0; i < d; ++i) s.y[r * d + i] = (xs[r * d + i] - mean) * rstd * g[i] + b[i];
    s.mean.push_back(mean);
    s.rstd.push_back(rstd);
  }
  return s;
}

class LayerNormForward : public FloatingTest {};

TEST_P(LayerNormForward, MatchesReferenceAndCachesStatistics) {
  const DType dt = GetParam();
  // An offset mean checks that the variance does not cancel catastrophically.
  const Tensor x = random_tensor({3, 5, 13}, dt, 1, 3.0, 5.0);
  const Tensor gamma = random_tensor({13}, dt, 2), beta = random_tensor({13}, dt, 3);
  Tensor y = Tensor::empty(x.shape(), dt);
  Tensor mean = Tensor::empty({15}, dt), rstd = Tensor::empty({3, 5}, dt);  // both shapes accepted
  ops::layer_norm_forward(x, gamma, beta, kEps, y, mean, rstd);
  const Stats s = reference(x, gamma, beta);
  EXPECT_TRUE(matches_reference(y, s.y));
  EXPECT_TRUE(matches_reference(mean, s.mean));
  EXPECT_TRUE(matches_reference(rstd, s.rstd));
}

WEFT_FLOATING_SUITE(LayerNormForward);

struct Problem {
  Tensor x, gamma, beta, y, mean, rstd, w;
  explicit Problem(const Shape& shape)
      : x(random_tensor(shape, DType::F64, 11)),
        gamma(random_tensor({shape.back()}, DType::F64, 12, 0.5, 1.5)),
        beta(random_tensor({shape.back()}, DType::F64, 13)),
        y(Tensor::empty(shape, DType::F64)),
        mean(Tensor::empty({x.numel() / shape.back()}, DType::F64)),
        rstd(Tensor::empty({x.numel() / shape.back()}, DType::F64)),
        w(random_tensor(shape, DType::F64, 14)) {}
  double loss() {
    ops::layer_norm_forward(x, gamma, beta, kEps, y, mean, rstd);
    return dot(y, w);
  }
};

TEST(LayerNormBackward, MatchesFiniteDifferencesAndAccumulatesParameters) {
  Problem p({3, 5, 13});
  p.loss();
  Tensor dx = Tensor::empty(p.x.shape(), DType::F64);
  ops::fill(dx, std::nan(""));  // written
  Tensor dgamma = random_tensor({13}, DType::F64, 15), dbeta = random_tensor({13}, DType::F64, 16);
  const Tensor dgamma0 = dgamma.clone(), dbeta0 = dbeta.clone();
  ops::layer_norm_backward(p.w, p.x, p.gamma, p.mean, p.rstd, dx, dgamma, dbeta);
  ops::axpy(-1.0, dgamma0, dgamma);  // accumulated onto what was there
  ops::axpy(-1.0, dbeta0, dbeta);
  auto loss = [&] { return p.loss(); };
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, p.x));
  EXPECT_TRUE(matches_numeric_gradient(dgamma, loss, p.gamma));
  EXPECT_TRUE(matches_numeric_gradient(dbeta, loss, p.beta));
}

// More rows than the kernel's 64 chunks of parameter-gradient partial sums.
TEST(LayerNormBackward, ManyRowsParameterGradients) {
  Problem p({201, 7});
  p.loss();
  Tensor dx = zeros_like(p.x), dgamma = zeros_like(p.gamma), dbeta = zeros_like(p.beta);
  ops::layer_norm_backward(p.w, p.x, p.gamma, p.mean, p.rstd, dx, dgamma, dbeta);
  auto loss = [&] { return p.loss(); };
  EXPECT_TRUE(matches_numeric_gradient(dgamma, loss, p.gamma));
  EXPECT_TRUE(matches_numeric_gradient(dbeta, loss, p.beta));
}

TEST(LayerNormBackward, F32MatchesF64AndRepeatsExactly) {
  Problem p({257, 384 / 4});
  p.loss();
  Tensor dx = zeros_like(p.x), dgamma = zeros_like(p.gamma), dbeta = zeros_like(p.beta);
  ops::layer_norm_backward(p.w, p.x, p.gamma, p.mean, p.rstd, dx, dgamma, dbeta);
  auto run_f32 = [&](Tensor& dx32, Tensor& dg32, Tensor& db32) {
    const Tensor x = cast(p.x, DType::F32), g = cast(p.gamma, DType::F32),
                 b = cast(p.beta, DType::F32), w = cast(p.w, DType::F32);
    Tensor y = zeros_like(x), mean = cast(p.mean, DType::F32), rstd = cast(p.rstd, DType::F32);
    ops::layer_norm_forward(x, g, b, kEps, y, mean, rstd);
    ops::layer_norm_backward(w, x, g, mean, rstd, dx32, dg32, db32);
  };
  Tensor dx32 = cast(dx, DType::F32), dg32 = Tensor::zeros({96}), db32 = Tensor::zeros({96});
  run_f32(dx32, dg32, db32);
  EXPECT_TRUE(all_close(dx32, dx, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(dg32, dgamma, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(db32, dbeta, 1e-5, 1e-5));
  Tensor dx_again = zeros_like(dx32);
  Tensor dg_again = Tensor::zeros({96}), db_again = Tensor::zeros({96});
  run_f32(dx_again, dg_again, db_again);
  EXPECT_TRUE(all_close(dg_again, dg32, 0.0, 0.0));  // deterministic
  EXPECT_TRUE(all_close(db_again, db32, 0.0, 0.0));
}

TEST(LayerNormChecks, RefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({3, 5, 13});
  const Tensor gamma = Tensor::zeros({13}), beta = Tensor::zeros({13});
  Tensor y = zeros_like(x), mean = Tensor::zeros({15}), rstd = Tensor::zeros({15});
  Tensor short_gamma = Tensor::zeros({12}), mean64 = Tensor::zeros({15}, DType::F64);
  Tensor bad_mean = Tensor::zeros({5, 3}), y_wrong = Tensor::zeros({3, 13, 5});
  EXPECT_NO_THROW(ops::layer_norm_forward(x, gamma, beta, kEps, y, mean, rstd));
  EXPECT_THROW(ops::layer_norm_forward(x, short_gamma, beta, kEps, y, mean, rstd), Error);
  EXPECT_THROW(ops::layer_norm_forward(x, gamma, short_gamma, kEps, y, mean, rstd), Error);
  EXPECT_THROW(ops::layer_norm_forward(x, gamma, beta, kEps, y, mean64, rstd), Error);
  EXPECT_THROW(ops::layer_norm_forward(x, gamma, beta, kEps, y, bad_mean, rstd), Error);
  EXPECT_THROW(ops::layer_norm_forward(x, gamma, beta, kEps, y_wrong, mean, rstd), Error);
  EXPECT_THROW(ops::layer_norm_forward(x, gamma, beta, -1.0, y, mean, rstd), Error);
  Tensor dx = zeros_like(x), dgamma = zeros_like(gamma), dbeta = zeros_like(beta);
  EXPECT_NO_THROW(ops::layer_norm_backward(y, x, gamma, mean, rstd, dx, dgamma, dbeta));
  EXPECT_THROW(ops::layer_norm_backward(y, x, gamma, mean, rstd, dx, short_gamma, dbeta), Error);
  EXPECT_THROW(ops::layer_norm_backward(y_wrong, x, gamma, mean, rstd, dx, dgamma, dbeta), Error);
}

}  // namespace
}  // namespace weft::testing
