// Global gradient norm and clip coefficient against hand computation.

#include "weft/train/clip.h"

#include <gtest/gtest.h>

#include <vector>

namespace weft {
namespace {

Parameter with_grad(const std::vector<float>& grad, const Shape& shape) {
  Parameter p;
  p.name = "p";
  p.value = Tensor::zeros(shape);
  p.grad = Tensor::from_vector(grad, shape);
  p.full_shape = shape;
  return p;
}

TEST(Clip, GlobalNormSumsOverParameters) {
  Parameter a = with_grad({3.0f, 4.0f}, {2});
  Parameter b = with_grad({12.0f}, {1, 1});
  EXPECT_DOUBLE_EQ(global_grad_norm({&a}), 5.0);       // sqrt(9 + 16)
  EXPECT_DOUBLE_EQ(global_grad_norm({&a, &b}), 13.0);  // sqrt(9 + 16 + 144)
  Parameter c = with_grad({1.0f, -2.0f, 2.0f, 0.5f}, {2, 2});
  EXPECT_NEAR(global_grad_norm({&a, &b, &c}), 13.3510299228, 1e-9);  // sqrt(169 + 9.25)
  EXPECT_DOUBLE_EQ(global_grad_norm({}), 0.0);
}

TEST(Clip, CoefficientLikeTorch) {
  EXPECT_DOUBLE_EQ(clip_coefficient(13.0, 1.0), 1.0 / (13.0 + 1e-6));
  EXPECT_DOUBLE_EQ(clip_coefficient(2.0, 0.5), 0.5 / (2.0 + 1e-6));
  EXPECT_DOUBLE_EQ(clip_coefficient(0.5, 1.0), 1.0);                 // under the limit: untouched
  EXPECT_DOUBLE_EQ(clip_coefficient(1.0, 1.0), 1.0 / (1.0 + 1e-6));  // at the limit: the epsilon
  EXPECT_DOUBLE_EQ(clip_coefficient(0.0, 1.0), 1.0);    // zero gradient: no division by zero
  EXPECT_DOUBLE_EQ(clip_coefficient(100.0, 0.0), 1.0);  // max_norm <= 0: no clipping
  EXPECT_DOUBLE_EQ(clip_coefficient(100.0, -1.0), 1.0);
}

}  // namespace
}  // namespace weft
