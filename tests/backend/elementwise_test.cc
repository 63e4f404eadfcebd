// fill, scale, axpy, add, add_bias, bias_backward, sum_squares and convert,
// at odd sizes below and above the kernels' threading threshold.

#include "weft/backend/elementwise.h"

#include <cmath>
#include <cstring>

#include "ops_testing.h"
#include "weft/tensor/bf16.h"

namespace weft::testing {
namespace {

const Shape kSmall = {3, 5, 7};
const Shape kLarge = {7, 14287};  // 100009 elements: the threaded path

class Elementwise : public FloatingTest {};

TEST_P(Elementwise, FillScaleAxpyAdd) {
  for (const Shape& shape : {kSmall, kLarge}) {
    SCOPED_TRACE(shape_str(shape));
    const DType dt = GetParam();
    const Tensor a = random_tensor(shape, dt, 1), b = random_tensor(shape, dt, 2);
    const std::vector<double> av = a.to_double_vector(), bv = b.to_double_vector();
    std::vector<double> expected(av.size());

    Tensor x = zeros_like(a);
    ops::fill(x, -0.375);
    EXPECT_TRUE(matches_reference(x, std::vector<double>(av.size(), -0.375)));

    x = a.clone();
    ops::scale(x, 1.5);
    for (size_t i = 0; i < av.size(); ++i) expected[i] = 1.5 * av[i];
    EXPECT_TRUE(matches_reference(x, expected));

    x = b.clone();
    ops::axpy(-0.5, a, x);
    for (size_t i = 0; i < av.size(); ++i) expected[i] = bv[i] - 0.5 * av[i];
    EXPECT_TRUE(matches_reference(x, expected));

    Tensor out = zeros_like(a);
    ops::add(a, b, out);
    for (size_t i = 0; i < av.size(); ++i) expected[i] = av[i] + bv[i];
    EXPECT_TRUE(matches_reference(out, expected));
    Tensor alias_a = a.clone(), alias_b = b.clone();
    ops::add(alias_a, b, alias_a);
    ops::add(a, alias_b, alias_b);
    EXPECT_TRUE(all_close(alias_a, out, 0.0, 0.0));
    EXPECT_TRUE(all_close(alias_b, out, 0.0, 0.0));
  }
}

TEST_P(Elementwise, AddBiasAndBiasBackward) {
  for (const Shape& shape : {Shape{3, 5, 13}, Shape{3001, 77}}) {
    SCOPED_TRACE(shape_str(shape));
    const DType dt = GetParam();
    const int64_t cols = shape.back();
    const Tensor y0 = random_tensor(shape, dt, 3), bias = random_tensor({cols}, dt, 4);
    const std::vector<double> yv = y0.to_double_vector(), bv = bias.to_double_vector();
    Tensor y = y0.clone();
    ops::add_bias(bias, y);
    std::vector<double> expected(yv);
    for (size_t i = 0; i < yv.size(); ++i) expected[i] += bv[i % cols];
    EXPECT_TRUE(matches_reference(y, expected));

    Tensor dbias = random_tensor({cols}, dt, 5);
    std::vector<double> sums = dbias.to_double_vector();  // accumulated onto
    for (size_t i = 0; i < yv.size(); ++i) sums[i % cols] += yv[i];
    ops::bias_backward(y0, dbias);
    // Long column sums: f32 inputs, double accumulation, one rounding at the end.
    EXPECT_TRUE(matches_reference(dbias, sums));
  }
}

TEST_P(Elementwise, SumSquares) {
  for (const Shape& shape : {kSmall, kLarge, Shape{1 << 20}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor x = random_tensor(shape, GetParam(), 6);
    double expected = 0.0;
    for (double v : x.to_double_vector()) expected += v * v;
    EXPECT_NEAR(ops::sum_squares(x), expected, 1e-12 * expected);
  }
}

TEST_P(Elementwise, Sum) {
  for (const Shape& shape : {kSmall, kLarge, Shape{1 << 20}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor x = random_tensor(shape, GetParam(), 11, 0.0, 1.0);
    double expected = 0.0;
    for (double v : x.to_double_vector()) expected += v;
    EXPECT_NEAR(ops::sum(x), expected, 1e-12 * expected);
  }
}

WEFT_FLOATING_SUITE(Elementwise);

TEST(BiasBackward, MatchesFiniteDifferences) {
  Tensor bias = random_tensor({13}, DType::F64, 7);
  const Tensor x = random_tensor({3, 5, 13}, DType::F64, 8);
  const Tensor w = random_tensor(x.shape(), DType::F64, 9);
  Tensor y = zeros_like(x);
  auto loss = [&] {
    y.copy_from(x);
    ops::add_bias(bias, y);
    return dot(y, w);
  };
  Tensor dbias = zeros_like(bias);
  ops::bias_backward(w, dbias);
  EXPECT_TRUE(matches_numeric_gradient(dbias, loss, bias));
}

TEST(SumSquares, IsDeterministic) {
  const Tensor x = random_tensor({1 << 20}, DType::F32, 10);
  const double first = ops::sum_squares(x);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ops::sum_squares(x), first);
}

// The gradient norm's one reduction over every parameter: each sum is
// sum_squares of its tensor, bit for bit, empty tensors and lists included.
TEST(SumSquaresMany, EachSumIsSumSquaresOfItsTensor) {
  const std::vector<Tensor> xs = {random_tensor({7}, DType::F32, 1), Tensor::empty({0}),
                                  random_tensor({3, 1001}, DType::F32, 2),
                                  random_tensor({1 << 17}, DType::F32, 3)};
  const std::vector<double> sums = ops::sum_squares_many(xs);
  ASSERT_EQ(sums.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(sums[i], ops::sum_squares(xs[i])) << i;
  EXPECT_EQ(sums[1], 0.0);
  EXPECT_TRUE(ops::sum_squares_many({}).empty());
  const Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 2}, {2});
  EXPECT_THROW(ops::sum_squares_many({xs[0], ids}), Error);
}

uint16_t bf16_bits(const Tensor& t, int64_t i) { return static_cast<const uint16_t*>(t.raw())[i]; }

TEST(Convert, RoundTripsBetweenF32AndF64) {
  const Tensor x = random_tensor(kLarge, DType::F32, 11);
  Tensor wide = Tensor::empty(kLarge, DType::F64), back = Tensor::empty(kLarge, DType::F32);
  ops::convert(x, wide);
  ops::convert(wide, back);
  EXPECT_TRUE(all_close(back, x, 0.0, 0.0));
  EXPECT_TRUE(all_close(wide, x, 0.0, 0.0));
  const Tensor third = from_doubles({1.0 / 3.0}, {1});
  Tensor narrow = Tensor::empty({1}, DType::F32);
  ops::convert(third, narrow);
  EXPECT_EQ(narrow.data<float>()[0], 1.0f / 3.0f);  // rounded to nearest
}

TEST(Convert, Bf16RoundsToNearestEven) {
  const double ulp = std::ldexp(1.0, -7);  // bf16 spacing in [1, 2)
  const std::vector<double> values = {
      1.0,
      1.0 + ulp / 2,                    // tie, 1.0 is even: down to 0x3F80
      1.0 + 3 * ulp / 2,                // tie, 1 + ulp is odd: up to 1 + 2 ulp = 0x3F82
      1.0 + ulp / 2 + std::ldexp(1.0, -20),  // above the tie: up to 0x3F81
      -2.5,                             // exact: 0xC020
      std::nan(""),
  };
  for (DType from : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_name(from));
    const Tensor src = from_doubles(values, {6}, from);
    Tensor b = Tensor::empty({6}, DType::BF16);
    ops::convert(src, b);
    EXPECT_EQ(bf16_bits(b, 0), 0x3F80);
    EXPECT_EQ(bf16_bits(b, 1), 0x3F80);
    EXPECT_EQ(bf16_bits(b, 2), 0x3F82);
    EXPECT_EQ(bf16_bits(b, 3), 0x3F81);
    EXPECT_EQ(bf16_bits(b, 4), 0xC020);
    Tensor back = Tensor::empty({6}, from);
    ops::convert(b, back);
    const std::vector<double> v = back.to_double_vector();
    EXPECT_EQ(v[2], 1.0 + 2 * ulp);
    EXPECT_EQ(v[4], -2.5);
    EXPECT_TRUE(std::isnan(v[5]));
  }
  // bf16 -> f32 -> bf16 is the identity on every finite value.
  Tensor all = Tensor::empty({1 << 16}, DType::BF16);
  auto* bits = static_cast<uint16_t*>(all.raw());
  for (int64_t i = 0; i < (1 << 16); ++i) bits[i] = static_cast<uint16_t>(i);
  Tensor f = Tensor::empty({1 << 16}, DType::F32), again = Tensor::empty({1 << 16}, DType::BF16);
  ops::convert(all, f);
  ops::convert(f, again);
  for (int64_t i = 0; i < (1 << 16); ++i) {
    if (std::isnan(f.data<float>()[i])) continue;
    ASSERT_EQ(bf16_bits(again, i), i) << "bits " << i;
  }
}

TEST(ElementwiseChecks, RefusesMismatchedArguments) {
  const Tensor a = Tensor::zeros({3, 5});
  Tensor b = zeros_like(a), wrong = Tensor::zeros({5, 3}), b64 = Tensor::zeros({3, 5}, DType::F64);
  Tensor ids = Tensor::zeros({3, 5}, DType::I32);
  Tensor bias = Tensor::zeros({5}), bad_bias = Tensor::zeros({3});
  EXPECT_THROW(ops::fill(ids, 1.0), Error);
  EXPECT_THROW(ops::scale(ids, 1.0), Error);
  EXPECT_THROW(ops::axpy(1.0, a, wrong), Error);
  EXPECT_THROW(ops::axpy(1.0, a, b64), Error);
  EXPECT_THROW(ops::add(a, wrong, b), Error);
  EXPECT_THROW(ops::add(a, b, b64), Error);
  EXPECT_NO_THROW(ops::add_bias(bias, b));
  EXPECT_THROW(ops::add_bias(bad_bias, b), Error);
  EXPECT_THROW(ops::add_bias(cast(bias, DType::F64), b), Error);
  EXPECT_THROW(ops::bias_backward(a, bad_bias), Error);
  EXPECT_THROW(ops::sum_squares(ids), Error);
  EXPECT_THROW(ops::sum(ids), Error);
  EXPECT_THROW(ops::convert(a, wrong), Error);
  EXPECT_THROW(ops::convert(a, ids), Error);
  EXPECT_THROW(ops::convert(Tensor(), b), Error);
}

}  // namespace
}  // namespace weft::testing
