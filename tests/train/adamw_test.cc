// The AdamW class over three steps against the update written out in the
// test, with a decayed and a non-decayed parameter and a grad_scale.

#include "weft/train/adamw.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "support/tensor_testing.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

Parameter make_param(const std::string& name, const std::vector<float>& value, bool decay) {
  Parameter p;
  p.name = name;
  const Shape shape = {static_cast<int64_t>(value.size())};
  p.value = Tensor::from_vector(value, shape);
  p.grad = Tensor::zeros(shape);
  p.full_shape = shape;
  p.weight_decay = decay;
  return p;
}

void set_grad(Parameter& p, const std::vector<float>& grad) {
  std::copy(grad.begin(), grad.end(), p.grad.data<float>());
}

// torch.optim.AdamW for one tensor, in double; p, m and v are rounded to f32
// after each step because that is what the optimizer stores.
struct Reference {
  std::vector<double> p, m, v;
  void step(const std::vector<float>& grad, double lr, double scale, double wd, int64_t t,
            const AdamWOptions& o) {
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = scale * grad[i];
      m[i] = static_cast<float>(o.beta1 * m[i] + (1 - o.beta1) * g);
      v[i] = static_cast<float>(o.beta2 * v[i] + (1 - o.beta2) * g * g);
      const double m_hat = m[i] / (1 - std::pow(o.beta1, t));
      const double v_hat = v[i] / (1 - std::pow(o.beta2, t));
      p[i] = static_cast<float>(p[i] - lr * (m_hat / (std::sqrt(v_hat) + o.eps) + wd * p[i]));
    }
  }
};

void expect_close(const Tensor& actual, const std::vector<double>& expected, const char* what) {
  Tensor reference = Tensor::empty({static_cast<int64_t>(expected.size())}, DType::F64);
  std::copy(expected.begin(), expected.end(), reference.data<double>());
  const testing::Tolerance tol = testing::tolerance_for(DType::F32);
  EXPECT_TRUE(testing::all_close(actual, reference, tol.rel, tol.abs)) << what;
}

AdamWOptions test_options() {
  AdamWOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.999;
  o.eps = 1e-8;
  o.weight_decay = 0.1;
  return o;
}

TEST(AdamW, ThreeStepsMatchTheUpdateByHand) {
  Parameter w = make_param("layer.weight", {0.5f, -1.0f}, /*decay=*/true);
  Parameter b = make_param("layer.bias", {0.25f}, /*decay=*/false);
  const AdamWOptions o = test_options();
  AdamW adam({&w, &b}, o);

  const std::vector<std::vector<float>> w_grads = {{0.3f, -0.2f}, {-0.1f, 0.4f}, {0.05f, 0.05f}};
  const std::vector<std::vector<float>> b_grads = {{1.0f}, {-2.0f}, {0.5f}};
  const double lrs[] = {0.1, 0.05, 0.02};
  const double scales[] = {1.0, 0.5, 2.0};
  Reference rw{{0.5, -1.0}, {0, 0}, {0, 0}};
  Reference rb{{0.25}, {0}, {0}};

  for (int64_t t = 1; t <= 3; ++t) {
    set_grad(w, w_grads[t - 1]);
    set_grad(b, b_grads[t - 1]);
    adam.step(lrs[t - 1], scales[t - 1]);
    EXPECT_EQ(adam.step_count(), t);
    rw.step(w_grads[t - 1], lrs[t - 1], scales[t - 1], o.weight_decay, t, o);
    rb.step(b_grads[t - 1], lrs[t - 1], scales[t - 1], 0.0, t, o);
    if (t == 1) {
      // Step 1 by hand: m̂ = g and v̂ = g², so the Adam direction is g/(|g| + eps) ≈ sign(g).
      //   w0 = 0.5 − 0.1·(0.3/(0.3 + 1e-8) + 0.1·0.5) = 0.395000003
      //   w1 = −1 − 0.1·(−0.2/(0.2 + 1e-8) + 0.1·(−1))  = −0.890000005
      //   b  = 0.25 − 0.1·(1/(1 + 1e-8))               = 0.150000001 (no decay)
      EXPECT_NEAR(w.value.to_double_vector()[0], 0.395000003, 1e-7);
      EXPECT_NEAR(w.value.to_double_vector()[1], -0.890000005, 1e-7);
      EXPECT_NEAR(b.value.to_double_vector()[0], 0.150000001, 1e-7);
    }
    expect_close(w.value, rw.p, "weight");
    expect_close(b.value, rb.p, "bias");
  }

  const std::vector<NamedTensor> state = adam.state_tensors();
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[0].name, "layer.weight.exp_avg");
  EXPECT_EQ(state[1].name, "layer.weight.exp_avg_sq");
  EXPECT_EQ(state[2].name, "layer.bias.exp_avg");
  EXPECT_EQ(state[3].name, "layer.bias.exp_avg_sq");
  expect_close(*state[0].tensor, rw.m, "weight.exp_avg");
  expect_close(*state[1].tensor, rw.v, "weight.exp_avg_sq");
  expect_close(*state[2].tensor, rb.m, "bias.exp_avg");
  expect_close(*state[3].tensor, rb.v, "bias.exp_avg_sq");
}

TEST(AdamW, StateStartsAtZeroWithTheParametersShape) {
  Parameter w = make_param("w", {1.0f, 2.0f, 3.0f}, true);
  AdamW adam({&w});
  EXPECT_EQ(adam.step_count(), 0);
  for (const NamedTensor& s : adam.state_tensors()) {
    EXPECT_EQ(s.tensor->shape(), w.value.shape()) << s.name;
    EXPECT_EQ(s.tensor->dtype(), w.value.dtype()) << s.name;
    for (double x : s.tensor->to_double_vector()) EXPECT_EQ(x, 0.0) << s.name;
  }
}

TEST(AdamW, ResumedStepCountDrivesBiasCorrection) {
  // After set_step_count(9) the next update uses t = 10, as a resumed run must.
  Parameter w = make_param("w", {0.5f, -0.5f}, true);
  const AdamWOptions o = test_options();
  AdamW adam({&w}, o);
  adam.set_step_count(9);
  set_grad(w, {0.2f, -0.7f});
  adam.step(0.01, 1.0);
  EXPECT_EQ(adam.step_count(), 10);
  Reference r{{0.5, -0.5}, {0, 0}, {0, 0}};
  r.step({0.2f, -0.7f}, 0.01, 1.0, o.weight_decay, 10, o);
  expect_close(w.value, r.p, "w");
}

TEST(AdamW, RefusesBadInput) {
  Parameter w = make_param("w", {1.0f}, true);
  auto error_of = [&](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  AdamWOptions bad_beta;
  bad_beta.beta1 = 1.0;
  EXPECT_NE(error_of([&] { AdamW({&w}, bad_beta); }).find("beta1"), std::string::npos);
  AdamWOptions bad_decay;
  bad_decay.weight_decay = -0.1;
  EXPECT_NE(error_of([&] { AdamW({&w}, bad_decay); }).find("weight_decay"), std::string::npos);
  EXPECT_NE(error_of([&] { AdamW({&w, &w}); }).find("listed twice"), std::string::npos);
  EXPECT_NE(error_of([&] { AdamW({&w, nullptr}); }).find("null"), std::string::npos);
}

}  // namespace
}  // namespace weft
