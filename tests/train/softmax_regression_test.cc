// The trainer tests' model must itself be right: its gradient against central
// finite differences of its loss.

#include "softmax_regression.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/tensor_testing.h"

namespace weft {
namespace {

TEST(SoftmaxRegression, GradientMatchesFiniteDifferences) {
  testing::SoftmaxRegression model(4);
  Batch batch;
  batch.input = Tensor::from_vector(std::vector<int32_t>{0, 3, 1, 1, 2, 0}, {2, 3});
  batch.target = Tensor::from_vector(std::vector<int32_t>{2, kIgnoreIndex, 0, 3, 1, 1}, {2, 3});
  const StepContext ctx;
  const double grad_scale = 0.5;
  model.zero_grad();
  model.forward_backward(batch, ctx, grad_scale);
  for (Parameter* p : model.parameters()) {
    // The model is f32: a wide step keeps rounding out of the difference.
    const Tensor numeric = testing::numeric_gradient(
        [&] { return grad_scale * model.forward(batch, ctx).sum; }, p->value, 1e-2);
    EXPECT_TRUE(testing::all_close(p->grad, numeric, 1e-3, 1e-4)) << p->name;
  }
}

}  // namespace
}  // namespace weft
