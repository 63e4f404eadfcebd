// Mixed precision's main gradients: the ops that add to a parameter's
// gradient take bf16 activations and an f32 gradient, and accumulate in f32
// without rounding to bf16 — exactly what the f32 op computes on the widened
// activations. Other gradient dtypes are refused by name.

#include <gmock/gmock.h>

#include "ops_testing.h"
#include "support/error_testing.h"
#include "weft/backend/embedding.h"
#include "weft/backend/gemm.h"
#include "weft/backend/layer_norm.h"
#include "weft/backend/rms_norm.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

Tensor widened(const Tensor& t) { return cast(t, DType::F32); }

::testing::AssertionResult identical(const Tensor& actual, const Tensor& expected) {
  return all_close(actual, expected, 0.0, 0.0);
}

// Every op runs twice on a gradient that already holds a value: the second
// call must add to the first in f32.
TEST(MainGradients, BiasBackwardAccumulatesBf16RowsInF32) {
  const Tensor dy = random_tensor({7, 3, 13}, DType::BF16, 1);
  Tensor dbias = random_tensor({13}, DType::F32, 2), expected = dbias.clone();
  for (int i = 0; i < 2; ++i) {
    ops::bias_backward(dy, dbias);
    ops::bias_backward(widened(dy), expected);
  }
  EXPECT_TRUE(identical(dbias, expected));
}

TEST(MainGradients, WeightGradientGemmAccumulatesInF32) {
  const Tensor dy = random_tensor({9, 11}, DType::BF16, 3), x = random_tensor({9, 5}, DType::BF16, 4);
  Tensor dw = random_tensor({11, 5}, DType::F32, 5), expected = dw.clone();
  for (int i = 0; i < 2; ++i) {
    ops::gemm(dy, true, x, false, dw, 1.0, 1.0);
    ops::gemm(widened(dy), true, widened(x), false, expected, 1.0, 1.0);
  }
  // Another summation order (bf16 operands against their widened f32 copies): f32's budget.
  const Tolerance tol = tolerance_for(DType::F32);
  EXPECT_TRUE(all_close(dw, expected, tol.rel, tol.abs));
}

TEST(MainGradients, LayerNormBackwardWritesF32GainAndBiasGradients) {
  const Tensor x = random_tensor({5, 3, 21}, DType::BF16, 6), dy = random_tensor(x.shape(), DType::BF16, 7);
  const Tensor gamma = random_tensor({21}, DType::BF16, 8, 0.5, 1.5);
  const Tensor beta = random_tensor({21}, DType::BF16, 9);
  Tensor y = zeros_like(x), dx = zeros_like(x);
  Tensor mean = Tensor::empty({15}, DType::F32), rstd = Tensor::empty({15}, DType::F32);
  ops::layer_norm_forward(x, gamma, beta, 1e-5, y, mean, rstd);
  Tensor dgamma = random_tensor({21}, DType::F32, 10), dbeta = random_tensor({21}, DType::F32, 11);
  Tensor expected_dgamma = dgamma.clone(), expected_dbeta = dbeta.clone();
  Tensor expected_dx = Tensor::zeros(x.shape(), DType::F32);
  for (int i = 0; i < 2; ++i) {
    ops::layer_norm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
    ops::layer_norm_backward(widened(dy), widened(x), widened(gamma), mean, rstd, expected_dx,
                             expected_dgamma, expected_dbeta);
  }
  EXPECT_TRUE(identical(dgamma, expected_dgamma));
  EXPECT_TRUE(identical(dbeta, expected_dbeta));
  EXPECT_TRUE(identical(dx, cast(expected_dx, DType::BF16)));
}

TEST(MainGradients, RmsNormBackwardWritesF32GainGradient) {
  const Tensor x = random_tensor({5, 3, 21}, DType::BF16, 16);
  const Tensor dy = random_tensor(x.shape(), DType::BF16, 17);
  const Tensor gamma = random_tensor({21}, DType::BF16, 18, 0.5, 1.5);
  Tensor y = zeros_like(x), dx = zeros_like(x), rstd = Tensor::empty({15}, DType::F32);
  ops::rms_norm_forward(x, gamma, 1e-5, y, rstd);
  Tensor dgamma = random_tensor({21}, DType::F32, 19), expected_dgamma = dgamma.clone();
  Tensor expected_dx = Tensor::zeros(x.shape(), DType::F32);
  for (int i = 0; i < 2; ++i) {
    ops::rms_norm_backward(dy, x, gamma, rstd, dx, dgamma);
    ops::rms_norm_backward(widened(dy), widened(x), widened(gamma), rstd, expected_dx,
                           expected_dgamma);
  }
  EXPECT_TRUE(identical(dgamma, expected_dgamma));
  EXPECT_TRUE(identical(dx, cast(expected_dx, DType::BF16)));
}

TEST(MainGradients, EmbeddingAndPositionGradientsAccumulateInF32) {
  const Tensor ids = random_ids({3, 7}, 10, 12);
  const Tensor dout = random_tensor({3, 7, 9}, DType::BF16, 13);
  Tensor dtable = random_tensor({10, 9}, DType::F32, 14), expected = dtable.clone();
  Tensor dpositions = random_tensor({16, 9}, DType::F32, 15), expected_positions = dpositions.clone();
  for (int i = 0; i < 2; ++i) {
    ops::embedding_backward(dout, ids, 0.5, 0, dtable);
    ops::embedding_backward(widened(dout), ids, 0.5, 0, expected);
    ops::add_positions_backward(dout, 4, dpositions);
    ops::add_positions_backward(widened(dout), 4, expected_positions);
  }
  EXPECT_TRUE(identical(dtable, expected));
  EXPECT_TRUE(identical(dpositions, expected_positions));
}

TEST(MainGradients, OnlyF32MayStandForABf16Gradient) {
  const Tensor dy16 = Tensor::zeros({4, 6}, DType::BF16), dy32 = Tensor::zeros({4, 6});
  Tensor dbias64 = Tensor::zeros({6}, DType::F64), dbias16 = Tensor::zeros({6}, DType::BF16);
  EXPECT_THAT(error_of([&] { ops::bias_backward(dy16, dbias64); }),
              HasSubstr("bias_backward: dbias must have dy's dtype (or f32)"));
  // f32 activations keep f32 gradients: a bf16 gradient is refused.
  EXPECT_THAT(error_of([&] { ops::bias_backward(dy32, dbias16); }),
              HasSubstr("bias_backward: dbias must have dy's dtype"));
  const Tensor ids = Tensor::zeros({4}, DType::I32);
  Tensor dtable16 = Tensor::zeros({5, 6}, DType::BF16);
  EXPECT_THAT(error_of([&] { ops::embedding_backward(dy32, ids, 1.0, 0, dtable16); }),
              HasSubstr("embedding_backward: dout must have the table's dtype bf16"));
}

}  // namespace
}  // namespace weft::testing
