// swiglu_forward/backward: values against g·σ(g)·u in double, over the range
// the gate bends in and at extreme gates; gradients against finite
// differences; outputs over their inputs; bf16 against f32; refusals.

#include "weft/backend/swiglu.h"

#include <gmock/gmock.h>

#include <cmath>

#include "ops_testing.h"
#include "support/error_testing.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

double silu(double g) {
  return g / (1.0 + std::exp(-g));
}

std::vector<double> reference(const Tensor& gate, const Tensor& up) {
  const std::vector<double> g = gate.to_double_vector(), u = up.to_double_vector();
  std::vector<double> h(g.size());
  for (size_t i = 0; i < g.size(); ++i) h[i] = silu(g[i]) * u[i];
  return h;
}

class SwiGluForward : public FloatingTest {};

TEST_P(SwiGluForward, MatchesFormula) {
  // Odd sizes, one above the parallel threshold.
  for (const Shape& shape : {Shape{3, 5, 7}, Shape{3, 11001}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor gate = random_tensor(shape, GetParam(), 1, -8.0, 8.0);
    const Tensor up = random_tensor(shape, GetParam(), 2);
    Tensor h = zeros_like(gate);
    ops::swiglu_forward(gate, up, h);
    EXPECT_TRUE(matches_reference(h, reference(gate, up)));
  }
}

TEST_P(SwiGluForward, InPlaceAndExtremeGates) {
  const std::vector<double> gates = {-1e4, -100.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 100.0, 1e4};
  const Tensor gate = from_doubles(gates, {9}, GetParam());
  const Tensor up = random_tensor({9}, GetParam(), 3, 0.5, 2.0);
  const std::vector<double> expected = reference(gate, up);
  Tensor h = up.clone();
  ops::swiglu_forward(gate, h, h);  // h over up
  EXPECT_TRUE(matches_reference(h, expected));
  h = gate.clone();
  ops::swiglu_forward(h, up, h);  // h over gate
  EXPECT_TRUE(matches_reference(h, expected));
}

WEFT_FLOATING_SUITE(SwiGluForward);

TEST(SwiGluBackward, MatchesFiniteDifferences) {
  Tensor gate = random_tensor({3, 5, 7}, DType::F64, 4, -6.0, 6.0);
  Tensor up = random_tensor(gate.shape(), DType::F64, 5);
  const Tensor w = random_tensor(gate.shape(), DType::F64, 6);
  Tensor h = zeros_like(gate);
  auto loss = [&] {
    ops::swiglu_forward(gate, up, h);
    return dot(h, w);
  };
  Tensor dgate = w.clone(), dup = Tensor::empty(gate.shape(), DType::F64);
  ops::fill(dup, std::nan(""));                       // written
  ops::swiglu_backward(dgate, gate, up, dgate, dup);  // dgate over dh
  EXPECT_TRUE(matches_numeric_gradient(dgate, loss, gate));
  EXPECT_TRUE(matches_numeric_gradient(dup, loss, up));
}

// The float formula against the double one over the gate's whole range,
// above the parallel threshold; dup written over up.
TEST(SwiGluBackward, F32MatchesF64) {
  const Tensor gate = random_tensor({5, 7001}, DType::F64, 7, -12.0, 12.0);
  const Tensor up = random_tensor(gate.shape(), DType::F64, 8);
  const Tensor dh = random_tensor(gate.shape(), DType::F64, 9);
  Tensor dgate = zeros_like(gate), dup = zeros_like(gate);
  ops::swiglu_backward(dh, gate, up, dgate, dup);
  const Tensor gate32 = cast(gate, DType::F32), dh32 = cast(dh, DType::F32);
  Tensor dgate32 = zeros_like(gate32), dup32 = cast(up, DType::F32);
  ops::swiglu_backward(dh32, gate32, dup32, dgate32, dup32);
  EXPECT_TRUE(all_close(dgate32, dgate, 1e-5, 1e-6));
  EXPECT_TRUE(all_close(dup32, dup, 1e-5, 1e-6));
}

// bf16 read as stored and computed in f32: the f32 op on the same values,
// within bf16's tolerance.
TEST(SwiGluBf16, MatchesF32) {
  const Shape shape = {37, 67};
  const Tensor gate = random_tensor(shape, DType::BF16, 10, -8.0, 8.0);
  const Tensor up = random_tensor(shape, DType::BF16, 11),
               dh = random_tensor(shape, DType::BF16, 12);
  const Tensor gate32 = cast(gate, DType::F32), up32 = cast(up, DType::F32);
  Tensor h = zeros_like(gate), h32 = zeros_like(gate32);
  ops::swiglu_forward(gate, up, h);
  ops::swiglu_forward(gate32, up32, h32);
  Tensor dgate = zeros_like(gate), dup = zeros_like(gate);
  Tensor dgate32 = zeros_like(gate32), dup32 = zeros_like(gate32);
  ops::swiglu_backward(dh, gate, up, dgate, dup);
  ops::swiglu_backward(cast(dh, DType::F32), gate32, up32, dgate32, dup32);
  const Tolerance tol = tolerance_for(DType::BF16);
  EXPECT_TRUE(all_close(h, h32, tol.rel, tol.abs));
  EXPECT_TRUE(all_close(dgate, dgate32, tol.rel, tol.abs));
  EXPECT_TRUE(all_close(dup, dup32, tol.rel, tol.abs));
}

TEST(SwiGluChecks, RefusesMismatchedArguments) {
  const Tensor gate = Tensor::zeros({3, 5}), up = zeros_like(gate);
  Tensor h = zeros_like(gate), h_wrong = Tensor::zeros({5, 3});
  Tensor up64 = Tensor::zeros({3, 5}, DType::F64), ids = Tensor::zeros({3, 5}, DType::I32);
  EXPECT_NO_THROW(ops::swiglu_forward(gate, up, h));
  EXPECT_THROW(ops::swiglu_forward(gate, up64, h), Error);
  EXPECT_THROW(ops::swiglu_forward(ids, ids, ids), Error);
  EXPECT_THAT(error_of([&] { ops::swiglu_forward(gate, up, h_wrong); }),
              HasSubstr("swiglu_forward: h must be f32[3, 5]"));
  Tensor dgate = zeros_like(gate), dup = zeros_like(gate);
  EXPECT_NO_THROW(ops::swiglu_backward(h, gate, up, dgate, dup));
  EXPECT_THROW(ops::swiglu_backward(h_wrong, gate, up, dgate, dup), Error);
  EXPECT_THROW(ops::swiglu_backward(h, gate, up, dgate, h_wrong), Error);
  EXPECT_THAT(error_of([&] { ops::swiglu_backward(h, gate, up, dgate, dgate); }),
              HasSubstr("swiglu_backward: dgate and dup overlap"));
}

}  // namespace
}  // namespace weft::testing
