// adamw_update against torch.optim.AdamW's update written out by hand, for
// three steps, with and without weight decay and with a gradient scale.

#include "weft/backend/adamw.h"

#include <cmath>

#include "ops_testing.h"

namespace weft::testing {
namespace {

struct State {
  std::vector<double> param, m, v;
};

// One step of the header's formula, element by element in double.
void reference_step(State& s, const std::vector<double>& grad, const ops::AdamWStep& h) {
  for (size_t i = 0; i < s.param.size(); ++i) {
    const double g = h.grad_scale * grad[i];
    s.m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * g;
    s.v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * g * g;
    const double m_hat = s.m[i] / (1 - std::pow(h.beta1, h.step));
    const double v_hat = s.v[i] / (1 - std::pow(h.beta2, h.step));
    s.param[i] -= h.lr * (m_hat / (std::sqrt(v_hat) + h.eps) + h.weight_decay * s.param[i]);
  }
}

class AdamW : public FloatingTest {};

TEST_P(AdamW, ThreeStepsMatchTheFormula) {
  const DType dt = GetParam();
  struct Case {
    double weight_decay, grad_scale;
  };
  for (Case c : {Case{0.0, 1.0}, Case{0.1, 1.0}, Case{0.1, 0.37}}) {
    SCOPED_TRACE(::testing::Message() << "weight_decay " << c.weight_decay << ", grad_scale "
                                      << c.grad_scale);
    Tensor param = random_tensor({3, 5}, dt, 1);
    Tensor m = Tensor::zeros({3, 5}, dt), v = Tensor::zeros({3, 5}, dt);
    State ref{param.to_double_vector(), std::vector<double>(15), std::vector<double>(15)};
    for (int64_t step = 1; step <= 3; ++step) {
      const Tensor grad = random_tensor({3, 5}, dt, 10 + step, -2.0, 2.0);
      ops::AdamWStep h;
      h.lr = 0.05;
      h.weight_decay = c.weight_decay;
      h.grad_scale = c.grad_scale;
      h.step = step;
      ops::adamw_update(param, grad, m, v, h);
      reference_step(ref, grad.to_double_vector(), h);
      EXPECT_TRUE(matches_reference(param, ref.param)) << "step " << step;
      EXPECT_TRUE(matches_reference(m, ref.m)) << "step " << step;
      EXPECT_TRUE(matches_reference(v, ref.v)) << "step " << step;
    }
  }
}

WEFT_FULL_PRECISION_SUITE(AdamW);

// Step 1 from zero moments moves every weight by lr·(sign(g) + wd·param), to
// within eps: m̂ = g and v̂ = g² after bias correction.
TEST(AdamWByHand, FirstStepIsSignOfGradient) {
  Tensor param = from_doubles({1.0, -2.0, 0.5}, {3});
  const Tensor grad = from_doubles({0.3, -4.0, 1e-3}, {3});
  Tensor m = zeros_like(param), v = zeros_like(param);
  ops::AdamWStep h;
  h.lr = 0.1;
  h.weight_decay = 0.01;
  ops::adamw_update(param, grad, m, v, h);
  EXPECT_NEAR(param.data<double>()[0], 1.0 - 0.1 * (1.0 + 0.01 * 1.0), 1e-6);
  EXPECT_NEAR(param.data<double>()[1], -2.0 - 0.1 * (-1.0 + 0.01 * -2.0), 1e-6);
  EXPECT_NEAR(param.data<double>()[2], 0.5 - 0.1 * (1e-3 / (1e-3 + 1e-8) + 0.01 * 0.5), 1e-12);
  EXPECT_NEAR(m.data<double>()[1], 0.1 * -4.0, 1e-15);     // (1 − β1)·g
  EXPECT_NEAR(v.data<double>()[1], 0.001 * 16.0, 1e-15);   // (1 − β2)·g²
}

TEST(AdamWChecks, RefusesBadArguments) {
  Tensor p = Tensor::zeros({3, 5}), g = zeros_like(p), m = zeros_like(p), v = zeros_like(p);
  Tensor wrong = Tensor::zeros({5, 3}), m64 = Tensor::zeros({3, 5}, DType::F64);
  ops::AdamWStep h;
  EXPECT_NO_THROW(ops::adamw_update(p, g, m, v, h));
  EXPECT_THROW(ops::adamw_update(p, wrong, m, v, h), Error);
  EXPECT_THROW(ops::adamw_update(p, g, m64, v, h), Error);
  EXPECT_THROW(ops::adamw_update(p, g, m, wrong, h), Error);
  ops::AdamWStep zero_step = h;
  zero_step.step = 0;
  EXPECT_THROW(ops::adamw_update(p, g, m, v, zero_step), Error);
  ops::AdamWStep bad_beta = h;
  bad_beta.beta2 = 1.0;
  EXPECT_THROW(ops::adamw_update(p, g, m, v, bad_beta), Error);
}

}  // namespace
}  // namespace weft::testing
