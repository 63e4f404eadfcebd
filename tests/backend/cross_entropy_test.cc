// cross_entropy: losses with label smoothing and ignored rows against a
// double reference, gradients against finite differences, aliasing, stability
// with large logits, and bad targets.

#include "weft/backend/cross_entropy.h"

#include <cmath>

#include "ops_testing.h"

namespace weft::testing {
namespace {

constexpr int64_t kRows = 7, kVocab = 11, kIgnore = -100;

// Targets with two ignored rows.
Tensor targets() {
  return Tensor::from_vector(std::vector<int32_t>{3, 0, kIgnore, 10, 5, kIgnore, 3}, {kRows});
}

// PyTorch's definition: (1 − ε)·(−log p_t) + ε·mean_j(−log p_j).
std::vector<double> reference_losses(const Tensor& logits, const Tensor& t, double eps) {
  const std::vector<double> x = logits.to_double_vector();
  std::vector<double> losses(kRows, 0.0);
  for (int64_t r = 0; r < kRows; ++r) {
    const int32_t target = t.data<int32_t>()[r];
    if (target == kIgnore) continue;
    double mx = x[r * kVocab];
    for (int64_t j = 0; j < kVocab; ++j) mx = std::max(mx, x[r * kVocab + j]);
    double sum = 0.0;
    for (int64_t j = 0; j < kVocab; ++j) sum += std::exp(x[r * kVocab + j] - mx);
    const double lse = mx + std::log(sum);
    double smooth = 0.0;
    for (int64_t j = 0; j < kVocab; ++j) smooth += (lse - x[r * kVocab + j]) / kVocab;
    losses[r] = (1.0 - eps) * (lse - x[r * kVocab + target]) + eps * smooth;
  }
  return losses;
}

class CrossEntropyForward : public FloatingTest {};

TEST_P(CrossEntropyForward, LossesWithSmoothingAndIgnoredRows) {
  const DType dt = GetParam();
  const Tensor logits = random_tensor({kRows, kVocab}, dt, 1, -4.0, 4.0);
  for (double eps : {0.0, 0.1}) {
    SCOPED_TRACE(::testing::Message() << "label smoothing " << eps);
    Tensor losses = Tensor::empty({kRows}, dt);
    Tensor no_grad;
    ops::cross_entropy(logits, targets(), kIgnore, eps, 1.0, losses, no_grad);
    EXPECT_TRUE(matches_reference(losses, reference_losses(logits, targets(), eps)));
    // The gradient in this precision against the f64 one (itself checked by
    // finite differences below).
    Tensor dlogits = zeros_like(logits), dlogits64 = Tensor::zeros(logits.shape(), DType::F64);
    Tensor losses64 = Tensor::empty({kRows}, DType::F64);
    ops::cross_entropy(logits, targets(), kIgnore, eps, 0.5, losses, dlogits);
    ops::cross_entropy(cast(logits, DType::F64), targets(), kIgnore, eps, 0.5, losses64, dlogits64);
    const Tolerance tol = tolerance_for(dt);
    EXPECT_TRUE(all_close(dlogits, dlogits64, tol.rel, tol.abs));
  }
}

TEST_P(CrossEntropyForward, LargeLogitsStayFinite) {
  const DType dt = GetParam();
  const Tensor base = random_tensor({kRows, kVocab}, DType::F64, 2, -4.0, 4.0);
  Tensor shifted = base.clone();
  std::vector<double> offset(kRows * kVocab, 1000.0);
  ops::axpy(1.0, from_doubles(offset, base.shape()), shifted);
  Tensor losses = Tensor::empty({kRows}, dt), dlogits = Tensor::empty({kRows, kVocab}, dt);
  ops::cross_entropy(cast(shifted, dt), targets(), kIgnore, 0.1, 1.0, losses, dlogits);
  // Softmax is shift-invariant; in f32 the shifted logits keep ~4 decimal digits.
  // bf16 keeps none of them (its step at 1000 is 4): its reference is the
  // loss of the rounded logits, computed in double.
  if (dt == DType::BF16) {
    const Tolerance tol = tolerance_for(dt);
    EXPECT_TRUE(all_close(losses,
                          from_doubles(reference_losses(cast(cast(shifted, dt), DType::F64),
                                                        targets(), 0.1),
                                       {kRows}),
                          tol.rel, tol.abs));
    return;
  }
  const double rel = dt == DType::F64 ? 1e-10 : 1e-3;
  EXPECT_TRUE(all_close(losses, from_doubles(reference_losses(base, targets(), 0.1), {kRows}), rel,
                        rel));
}

WEFT_FLOATING_SUITE(CrossEntropyForward);

// dlogits = grad_scale · d(Σ losses)/d logits.
TEST(CrossEntropyBackward, MatchesFiniteDifferences) {
  Tensor logits = random_tensor({kRows, kVocab}, DType::F64, 3, -4.0, 4.0);
  Tensor losses = Tensor::empty({kRows}, DType::F64), no_grad;
  const double grad_scale = 0.25;
  auto loss = [&] {
    ops::cross_entropy(logits, targets(), kIgnore, 0.1, grad_scale, losses, no_grad);
    std::vector<double> l = losses.to_double_vector();
    double total = 0.0;
    for (double v : l) total += v;
    return grad_scale * total;
  };
  Tensor dlogits = Tensor::empty(logits.shape(), DType::F64);
  ops::cross_entropy(logits, targets(), kIgnore, 0.1, grad_scale, losses, dlogits);
  EXPECT_TRUE(matches_numeric_gradient(dlogits, loss, logits));
  for (int64_t j = 0; j < kVocab; ++j) EXPECT_EQ(dlogits.data<double>()[2 * kVocab + j], 0.0);
}

TEST(CrossEntropyBackward, GradientMayAliasLogits) {
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor logits = random_tensor({kRows, kVocab}, dt, 4, -4.0, 4.0);
    Tensor losses = Tensor::empty({kRows}, dt), dlogits = zeros_like(logits);
    ops::cross_entropy(logits, targets(), kIgnore, 0.1, 0.5, losses, dlogits);
    Tensor in_place = logits.clone(), losses2 = Tensor::empty({kRows}, dt);
    ops::cross_entropy(in_place, targets(), kIgnore, 0.1, 0.5, losses2, in_place);
    EXPECT_TRUE(all_close(in_place, dlogits, 0.0, 0.0));
    EXPECT_TRUE(all_close(losses2, losses, 0.0, 0.0));
  }
}

TEST(CrossEntropyChecks, RefusesBadArguments) {
  const Tensor logits = Tensor::zeros({kRows, kVocab});
  Tensor losses = Tensor::empty({kRows}), grad = zeros_like(logits), none;
  Tensor losses64 = Tensor::empty({kRows}, DType::F64), short_losses = Tensor::empty({kRows - 1});
  Tensor grad_wrong = Tensor::zeros({kRows, kVocab + 1});
  const Tensor float_targets = Tensor::zeros({kRows});
  EXPECT_NO_THROW(ops::cross_entropy(logits, targets(), kIgnore, 0.1, 1.0, losses, grad));
  EXPECT_THROW(ops::cross_entropy(logits, float_targets, kIgnore, 0.1, 1.0, losses, grad), Error);
  EXPECT_THROW(ops::cross_entropy(logits, targets(), kIgnore, 0.1, 1.0, losses64, grad), Error);
  EXPECT_THROW(ops::cross_entropy(logits, targets(), kIgnore, 0.1, 1.0, short_losses, grad), Error);
  EXPECT_THROW(ops::cross_entropy(logits, targets(), kIgnore, 0.1, 1.0, losses, grad_wrong), Error);
  EXPECT_THROW(ops::cross_entropy(logits.view({1, kRows, kVocab}), targets(), kIgnore, 0.1, 1.0,
                                  losses, none),
               Error);
  EXPECT_THROW(ops::cross_entropy(logits, targets(), kIgnore, 1.5, 1.0, losses, none), Error);
  // A target outside the vocabulary that is not the ignore index is refused by value.
  const Tensor out_of_range =
      Tensor::from_vector(std::vector<int32_t>{3, 0, 1, kVocab, 5, 1, 3}, {kRows});
  EXPECT_THROW(ops::cross_entropy(logits, out_of_range, kIgnore, 0.0, 1.0, losses, none), Error);
}

}  // namespace
}  // namespace weft::testing
