// linear_forward / linear_backward_gelu / linear_backward_weight: on the CPU
// the same bits as the unfused gemm, add_bias, GELU and bias_backward; the
// backward against finite differences; argument checks.

#include "weft/backend/linear.h"

#include "ops_testing.h"
#include "weft/backend/activation.h"
#include "weft/backend/gemm.h"

namespace weft::testing {
namespace {

using ops::Activation;

// y = x·wᵀ + bias, then GELU when asked, as three separate ops.
Tensor unfused_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu,
                       Tensor* pre) {
  Shape shape = x.shape();
  shape.back() = w.dim(0);
  Tensor z = Tensor::empty(shape, x.dtype());
  ops::gemm(x, false, w, true, z);
  if (bias.defined()) ops::add_bias(bias, z);
  if (!gelu) return z;
  Tensor y = zeros_like(z);
  ops::activation_forward(Activation::GELU, z, y);
  *pre = z;
  return y;
}

class LinearSameBits : public FloatingTest {};

// x (2,3,7), w (5,7): odd sizes, three leading dimensions flattened to rows.
TEST_P(LinearSameBits, ForwardAsUnfusedOps) {
  const DType dt = GetParam();
  const Tensor x = random_tensor({2, 3, 7}, dt, 1, -2.0, 2.0);
  const Tensor w = random_tensor({5, 7}, dt, 2);
  for (bool with_bias : {false, true}) {
    for (bool gelu : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "bias " << with_bias << ", gelu " << gelu);
      const Tensor bias = with_bias ? random_tensor({5}, dt, 3) : Tensor();
      Tensor expected_pre;
      const Tensor expected = unfused_forward(x, w, bias, gelu, &expected_pre);
      Tensor y = Tensor::empty({2, 3, 5}, dt);
      ops::fill(y, std::nan(""));  // written, not accumulated
      Tensor pre = gelu ? Tensor::empty({2, 3, 5}, dt) : Tensor();
      ops::linear_forward(x, w, bias, gelu, pre, y);
      EXPECT_EQ(y.to_double_vector(), expected.to_double_vector());
      if (gelu) EXPECT_EQ(pre.to_double_vector(), expected_pre.to_double_vector());
    }
  }
}

TEST_P(LinearSameBits, BackwardAsUnfusedOps) {
  const DType dt = GetParam();
  const Tensor dy = random_tensor({4, 3, 5}, dt, 4);
  const Tensor w = random_tensor({5, 9}, dt, 5);
  const Tensor pre = random_tensor({4, 3, 9}, dt, 6, -3.0, 3.0);
  Tensor expected = Tensor::empty(pre.shape(), dt);
  ops::gemm(dy, false, w, false, expected);
  ops::activation_backward(Activation::GELU, pre, expected, expected);
  Tensor dpre = Tensor::empty(pre.shape(), dt);
  ops::fill(dpre, std::nan(""));
  ops::linear_backward_gelu(dy, w, pre, dpre);
  EXPECT_EQ(dpre.to_double_vector(), expected.to_double_vector());
}

// Twice into gradients that already hold values (accumulation across
// micro-batches): the same bits as gemm then bias_backward. bf16 dy and x
// accumulate into f32 main gradients.
TEST_P(LinearSameBits, WeightGradientsAsUnfusedOps) {
  const DType dt = GetParam();
  const DType grad_dt = dt == DType::BF16 ? DType::F32 : dt;
  const Tensor dy = random_tensor({4, 3, 5}, dt, 7), x = random_tensor({4, 3, 9}, dt, 8);
  for (bool with_bias : {false, true}) {
    SCOPED_TRACE(::testing::Message() << "bias " << with_bias);
    Tensor dw = random_tensor({5, 9}, grad_dt, 9), expected_dw = dw.clone();
    Tensor db = with_bias ? random_tensor({5}, grad_dt, 10) : Tensor();
    Tensor expected_db = with_bias ? db.clone() : Tensor();
    for (int micro_batch = 0; micro_batch < 2; ++micro_batch) {
      ops::linear_backward_weight(dy, x, dw, db);
      ops::gemm(dy, true, x, false, expected_dw, 1.0, 1.0);
      if (with_bias) ops::bias_backward(dy, expected_db);
    }
    EXPECT_EQ(dw.to_double_vector(), expected_dw.to_double_vector());
    if (with_bias) EXPECT_EQ(db.to_double_vector(), expected_db.to_double_vector());
  }
}

WEFT_FLOATING_SUITE(LinearSameBits);

// loss = Σ g · (x·wᵀ + b): dw = gᵀ·x and db = Σ_rows g, added to what the
// gradients held.
TEST(LinearBackward, WeightGradientsMatchFiniteDifferences) {
  const Tensor x = random_tensor({3, 2, 7}, DType::F64, 30);
  Tensor w = random_tensor({4, 7}, DType::F64, 31), b = random_tensor({4}, DType::F64, 32);
  const Tensor g = random_tensor({3, 2, 4}, DType::F64, 33);
  Tensor y = Tensor::empty({3, 2, 4}, DType::F64), no_pre;
  auto loss = [&] {
    ops::linear_forward(x, w, b, false, no_pre, y);
    return dot(y, g);
  };
  const Tensor dw_start = random_tensor(w.shape(), DType::F64, 34);
  const Tensor db_start = random_tensor(b.shape(), DType::F64, 35);
  Tensor dw = dw_start.clone(), db = db_start.clone();
  ops::linear_backward_weight(g, x, dw, db);
  ops::axpy(-1.0, dw_start, dw);
  ops::axpy(-1.0, db_start, db);
  EXPECT_TRUE(matches_numeric_gradient(dw, loss, w));
  EXPECT_TRUE(matches_numeric_gradient(db, loss, b));
}

// loss = Σ g · (gelu(x·w1ᵀ + b1)·w2ᵀ + b2). The fused backward gives
// dpre = (g·w2) ⊙ gelu'(pre); dx = dpre·w1 closes the chain to x, so the
// check covers both the pre kept by forward and the backward that uses it.
TEST(LinearBackward, GeluChainMatchesFiniteDifferences) {
  Tensor x = random_tensor({3, 2, 7}, DType::F64, 10, -2.0, 2.0);
  const Tensor w1 = random_tensor({11, 7}, DType::F64, 11);
  const Tensor b1 = random_tensor({11}, DType::F64, 12);
  const Tensor w2 = random_tensor({5, 11}, DType::F64, 13);
  const Tensor b2 = random_tensor({5}, DType::F64, 14);
  const Tensor g = random_tensor({3, 2, 5}, DType::F64, 15);
  Tensor pre = Tensor::empty({3, 2, 11}, DType::F64);
  Tensor hidden = Tensor::empty({3, 2, 11}, DType::F64);
  Tensor y = Tensor::empty({3, 2, 5}, DType::F64);
  Tensor no_pre;
  auto loss = [&] {
    ops::linear_forward(x, w1, b1, true, pre, hidden);
    ops::linear_forward(hidden, w2, b2, false, no_pre, y);
    return dot(y, g);
  };
  loss();
  Tensor dpre = Tensor::empty(pre.shape(), DType::F64);
  ops::linear_backward_gelu(g, w2, pre, dpre);
  Tensor dx = Tensor::empty(x.shape(), DType::F64);
  ops::gemm(dpre, false, w1, false, dx);
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
}

// The fused backward alone: d/dh Σ g · (gelu(h)·wᵀ) = (g·w) ⊙ gelu'(h).
TEST(LinearBackward, MatchesFiniteDifferencesInPre) {
  Tensor h = random_tensor({4, 6}, DType::F64, 20, -3.0, 3.0);
  const Tensor w = random_tensor({3, 6}, DType::F64, 21);
  const Tensor g = random_tensor({4, 3}, DType::F64, 22);
  Tensor a = zeros_like(h), y = Tensor::empty({4, 3}, DType::F64), no_pre;
  auto loss = [&] {
    ops::activation_forward(Activation::GELU, h, a);
    ops::linear_forward(a, w, Tensor(), false, no_pre, y);
    return dot(y, g);
  };
  Tensor dh = zeros_like(h);
  ops::linear_backward_gelu(g, w, h, dh);
  EXPECT_TRUE(matches_numeric_gradient(dh, loss, h));
}

TEST(LinearChecks, ForwardRefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({2, 3, 4}), w = Tensor::zeros({5, 4}), bias = Tensor::zeros({5});
  Tensor y = Tensor::zeros({2, 3, 5}), pre = Tensor::zeros({2, 3, 5}), none;
  EXPECT_NO_THROW(ops::linear_forward(x, w, bias, false, none, y));
  EXPECT_NO_THROW(ops::linear_forward(x, w, Tensor(), true, pre, y));
  EXPECT_THROW(ops::linear_forward(x, Tensor::zeros({5, 3}), bias, false, none, y), Error);
  EXPECT_THROW(ops::linear_forward(x, Tensor::zeros({5, 4, 1}), bias, false, none, y), Error);
  EXPECT_THROW(ops::linear_forward(x, Tensor::zeros({5, 4}, DType::F64), bias, false, none, y),
               Error);  // dtypes differ
  EXPECT_THROW(ops::linear_forward(x, w, Tensor::zeros({4}), false, none, y), Error);
  EXPECT_THROW(ops::linear_forward(x, w, Tensor::zeros({5}, DType::F64), false, none, y), Error);
  Tensor wrong_y = Tensor::zeros({6, 5});
  EXPECT_THROW(ops::linear_forward(x, w, bias, false, none, wrong_y), Error);
  EXPECT_THROW(ops::linear_forward(x, w, bias, false, pre, y), Error);  // pre without gelu
  EXPECT_THROW(ops::linear_forward(x, w, bias, true, none, y), Error);  // gelu without pre
  Tensor wrong_pre = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(ops::linear_forward(x, w, bias, true, wrong_pre, y), Error);
  EXPECT_THROW(ops::linear_forward(x, w, bias, true, y, y), Error);  // pre aliases y
  EXPECT_THROW(ops::linear_forward(Tensor::zeros({2, 4}, DType::I32), w, bias, false, none, y),
               Error);
}

TEST(LinearChecks, BackwardRefusesMismatchedArguments) {
  const Tensor dy = Tensor::zeros({2, 3, 5}), w = Tensor::zeros({5, 4});
  const Tensor pre = Tensor::zeros({2, 3, 4});
  Tensor dpre = Tensor::zeros({2, 3, 4});
  EXPECT_NO_THROW(ops::linear_backward_gelu(dy, w, pre, dpre));
  EXPECT_THROW(ops::linear_backward_gelu(dy, Tensor::zeros({4, 5}), pre, dpre), Error);
  EXPECT_THROW(ops::linear_backward_gelu(dy, w, Tensor::zeros({2, 3, 5}), dpre), Error);
  EXPECT_THROW(ops::linear_backward_gelu(dy, w, Tensor::zeros({6, 4}), dpre), Error);
  Tensor wrong_dpre = Tensor::zeros({2, 3, 4}, DType::F64);
  EXPECT_THROW(ops::linear_backward_gelu(dy, w, pre, wrong_dpre), Error);
  EXPECT_THROW(ops::linear_backward_gelu(dy, Tensor::zeros({5, 4}, DType::F64), pre, dpre), Error);
  Tensor same = pre;
  EXPECT_THROW(ops::linear_backward_gelu(dy, w, pre, same), Error);  // dpre aliases pre
}

TEST(LinearChecks, WeightGradientsRefuseMismatchedArguments) {
  const Tensor dy = Tensor::zeros({2, 3, 5}), x = Tensor::zeros({2, 3, 4});
  Tensor dw = Tensor::zeros({5, 4}), db = Tensor::zeros({5}), none;
  EXPECT_NO_THROW(ops::linear_backward_weight(dy, x, dw, db));
  EXPECT_NO_THROW(ops::linear_backward_weight(dy, x, dw, none));
  const Tensor dy16 = Tensor::zeros({2, 3, 5}, DType::BF16);
  const Tensor x16 = Tensor::zeros({6, 4}, DType::BF16);
  EXPECT_NO_THROW(ops::linear_backward_weight(dy16, x16, dw, db));    // f32 main gradients
  EXPECT_THROW(ops::linear_backward_weight(dy, x16, dw, db), Error);  // dtypes of dy and x
  EXPECT_THROW(ops::linear_backward_weight(dy, Tensor::zeros({5, 4}), dw, db), Error);  // rows
  Tensor dw_wrong = Tensor::zeros({4, 5}), dw_f64 = Tensor::zeros({5, 4}, DType::F64);
  EXPECT_THROW(ops::linear_backward_weight(dy, x, dw_wrong, db), Error);
  EXPECT_THROW(ops::linear_backward_weight(dy, x, dw_f64, db), Error);
  EXPECT_THROW(ops::linear_backward_weight(dy, x, none, db), Error);
  Tensor db_wrong = Tensor::zeros({4}), db_bf16 = Tensor::zeros({5}, DType::BF16);
  EXPECT_THROW(ops::linear_backward_weight(dy, x, dw, db_wrong), Error);
  EXPECT_THROW(ops::linear_backward_weight(dy, x, dw, db_bf16), Error);
  EXPECT_THROW(ops::linear_backward_weight(Tensor::zeros({2, 5}, DType::I32), x, dw, db), Error);
}

}  // namespace
}  // namespace weft::testing
