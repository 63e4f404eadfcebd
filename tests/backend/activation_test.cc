// ReLU and GELU (tanh form): values against the textbook formulas in double,
// gradients against finite differences, in-place use, and extreme inputs.

#include "weft/backend/activation.h"

#include <cmath>

#include "ops_testing.h"

namespace weft::testing {
namespace {

using ops::Activation;

double reference(Activation act, double x) {
  if (act == Activation::ReLU) return x > 0 ? x : 0.0;
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}

const char* name(Activation act) { return act == Activation::ReLU ? "relu" : "gelu"; }

class ActivationForward : public FloatingTest {};

TEST_P(ActivationForward, MatchesFormula) {
  // Odd size above the parallel threshold, values over the range GELU bends in.
  const Tensor x = random_tensor({3, 11001}, GetParam(), 1, -6.0, 6.0);
  for (Activation act : {Activation::ReLU, Activation::GELU}) {
    SCOPED_TRACE(name(act));
    Tensor y = zeros_like(x);
    ops::activation_forward(act, x, y);
    std::vector<double> expected = x.to_double_vector();
    for (double& e : expected) e = reference(act, e);
    EXPECT_TRUE(matches_reference(y, expected));
  }
}

TEST_P(ActivationForward, InPlaceAndExtremeInputs) {
  const std::vector<double> values = {-1e4, -80.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 80.0, 1e4};
  for (Activation act : {Activation::ReLU, Activation::GELU}) {
    SCOPED_TRACE(name(act));
    Tensor x = from_doubles(values, {9}, GetParam());
    ops::activation_forward(act, x, x);
    std::vector<double> expected = values;
    for (double& e : expected) e = reference(act, e);
    EXPECT_TRUE(matches_reference(x, expected));
  }
}

WEFT_FLOATING_SUITE(ActivationForward);

TEST(ActivationBackward, MatchesFiniteDifferences) {
  for (Activation act : {Activation::ReLU, Activation::GELU}) {
    SCOPED_TRACE(name(act));
    Tensor x = random_tensor({3, 5, 7}, DType::F64, 2, -3.0, 3.0);
    const Tensor w = random_tensor(x.shape(), DType::F64, 3);
    Tensor y = zeros_like(x);
    auto loss = [&] {
      ops::activation_forward(act, x, y);
      return dot(y, w);
    };
    Tensor dx = w.clone();
    ops::activation_backward(act, x, dx, dx);  // dx aliases dy
    EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
  }
}

TEST(ActivationBackward, F32MatchesF64) {
  const Tensor x = random_tensor({5, 7001}, DType::F64, 4, -6.0, 6.0);
  const Tensor dy = random_tensor(x.shape(), DType::F64, 5);
  for (Activation act : {Activation::ReLU, Activation::GELU}) {
    SCOPED_TRACE(name(act));
    Tensor dx = zeros_like(x);
    ops::activation_backward(act, x, dy, dx);
    const Tensor x32 = cast(x, DType::F32), dy32 = cast(dy, DType::F32);
    Tensor dx32 = zeros_like(x32);
    ops::activation_backward(act, x32, dy32, dx32);
    EXPECT_TRUE(all_close(dx32, dx, 1e-5, 1e-6));
  }
}

TEST(ActivationChecks, RefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({3, 5});
  Tensor y = zeros_like(x), y_wrong = Tensor::zeros({5, 3});
  Tensor y64 = Tensor::zeros({3, 5}, DType::F64);
  Tensor ids = Tensor::zeros({3, 5}, DType::I32);
  EXPECT_NO_THROW(ops::activation_forward(Activation::GELU, x, y));
  EXPECT_THROW(ops::activation_forward(Activation::GELU, x, y_wrong), Error);
  EXPECT_THROW(ops::activation_forward(Activation::ReLU, x, y64), Error);
  EXPECT_THROW(ops::activation_forward(Activation::ReLU, ids, ids), Error);
  EXPECT_THROW(ops::activation_backward(Activation::GELU, x, y_wrong, y), Error);
  EXPECT_THROW(ops::activation_backward(Activation::GELU, x, y, y64), Error);
}

}  // namespace
}  // namespace weft::testing
