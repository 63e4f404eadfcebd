// Activations, dropout and the elementwise ops (elementwise.h) on the GPU
// against the CPU in f64; conversions and dropout masks must give the CPU's
// bits exactly.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/activation.h"
#include "weft/backend/dropout.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {{1001}, {37, 67}, {3, 5, 129}, {64, 1024}, {1}};
  return all;
}

const char* act_name(ops::Activation act) {
  return act == ops::Activation::GELU ? "gelu" : "relu";
}

class ActivationGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(ActivationGpu);

TEST_P(ActivationGpu, ForwardAndBackward) {
  Seeds seeds;
  for (ops::Activation act : {ops::Activation::ReLU, ops::Activation::GELU}) {
    for (const Shape& shape : shapes()) {
      for (bool aliased : {false, true}) {
        SCOPED_TRACE(detail::concat(act_name(act), " over ", shape_str(shape),
                                    aliased ? ", output aliases input" : ""));
        const Operand x = random_operand(shape, dtype(), seeds.next(), -6.0, 6.0);
        Tensor y_ref = Tensor::zeros(shape, DType::F64);
        ops::activation_forward(act, x.ref, y_ref);
        Tensor y = aliased ? x.gpu.clone() : poisoned(shape, dtype());
        ops::activation_forward(act, aliased ? y : x.gpu, y);
        EXPECT_TRUE(close_to_cpu("activation_forward", "y", y, y_ref, budget()));

        const Operand dy = random_operand(shape, dtype(), seeds.next());
        Tensor dx_ref = Tensor::zeros(shape, DType::F64);
        ops::activation_backward(act, x.ref, dy.ref, dx_ref);
        Tensor dx = aliased ? dy.gpu.clone() : poisoned(shape, dtype());
        ops::activation_backward(act, x.gpu, aliased ? dx : dy.gpu, dx);
        EXPECT_TRUE(close_to_cpu("activation_backward", "dx", dx, dx_ref, budget()));
      }
    }
  }
}

// 1 where the tensor is exactly 0, else 0: the dropped positions.
Tensor zero_positions(const Tensor& t) {
  const std::vector<double> v = t.to_double_vector();
  Tensor mask = Tensor::empty(t.shape(), DType::I32);
  for (size_t i = 0; i < v.size(); ++i) mask.data<int32_t>()[i] = v[i] == 0.0 ? 1 : 0;
  return mask;
}

class DropoutGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(DropoutGpu);

// The mask is a function of (seed, step, site, global index): the GPU must
// drop exactly the elements the CPU drops, under any offsets.
TEST_P(DropoutGpu, SameMaskAsTheCpu) {
  struct Case {
    Shape shape;
    double p;
    ops::DropoutSite site;
  };
  const std::vector<Case> cases = {
      {{37, 67}, 0.1, {11, 3, 2, 0, 0, 0}},
      {{3, 5, 129}, 0.5, {11, 4, 7, 40, 300, 129}},  // a data- and tensor-parallel shard
      {{64, 1024}, 0.25, {5, 1, 1, 0, 0, 0}},
      {{1001}, 0.1, {2, 9, 3, 0, 0, 0}},
      {{37, 67}, 0.0, {11, 3, 2, 0, 0, 0}},  // p = 0 copies
  };
  Seeds seeds;
  for (const Case& c : cases) {
    for (bool aliased : {false, true}) {
      SCOPED_TRACE(detail::concat(shape_str(c.shape), ", p ", c.p, ", site ", c.site.site,
                                  ", rows from ", c.site.row_offset, ", cols from ",
                                  c.site.col_offset, " of ", c.site.global_cols,
                                  aliased ? ", output aliases input" : ""));
      // Inputs away from 0, so that a 0 in the output is a dropped element.
      const Operand x = random_operand(c.shape, dtype(), seeds.next(), 0.25, 1.25);
      Tensor y_ref = Tensor::zeros(c.shape, DType::F64);
      ops::dropout_forward(x.ref, c.p, c.site, y_ref);
      Tensor y = aliased ? x.gpu.clone() : poisoned(c.shape, dtype());
      ops::dropout_forward(aliased ? y : x.gpu, c.p, c.site, y);
      EXPECT_TRUE(close_to_cpu("dropout_forward", "y", y, y_ref, budget()));
      EXPECT_TRUE(same_bits("dropout_forward", "dropped positions", zero_positions(y),
                            zero_positions(y_ref)));

      const Operand dy = random_operand(c.shape, dtype(), seeds.next(), 0.25, 1.25);
      Tensor dx_ref = Tensor::zeros(c.shape, DType::F64);
      ops::dropout_backward(dy.ref, c.p, c.site, dx_ref);
      Tensor dx = aliased ? dy.gpu.clone() : poisoned(c.shape, dtype());
      ops::dropout_backward(aliased ? dx : dy.gpu, c.p, c.site, dx);
      EXPECT_TRUE(close_to_cpu("dropout_backward", "dx", dx, dx_ref, budget()));
      EXPECT_TRUE(same_bits("dropout_backward", "dropped positions", zero_positions(dx),
                            zero_positions(dx_ref)));
    }
  }
}

class ElementwiseGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(ElementwiseGpu);

TEST_P(ElementwiseGpu, FillScaleAxpyAdd) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE(shape_str(shape));
    Tensor filled_ref = Tensor::zeros(shape, DType::F64);
    ops::fill(filled_ref, 0.37);
    Tensor filled = poisoned(shape, dtype());
    ops::fill(filled, 0.37);
    EXPECT_TRUE(close_to_cpu("fill", "x", filled, filled_ref, budget()));

    Operand x = random_operand(shape, dtype(), seeds.next());
    ops::scale(x.ref, -1.7);
    ops::scale(x.gpu, -1.7);
    EXPECT_TRUE(close_to_cpu("scale", "x", x.gpu, x.ref, budget()));

    const Operand a = random_operand(shape, dtype(), seeds.next());
    Operand y = random_operand(shape, dtype(), seeds.next());
    ops::axpy(0.3, a.ref, y.ref);
    ops::axpy(0.3, a.gpu, y.gpu);
    EXPECT_TRUE(close_to_cpu("axpy", "y", y.gpu, y.ref, budget()));

    const Operand b = random_operand(shape, dtype(), seeds.next());
    Tensor sum_ref = Tensor::zeros(shape, DType::F64);
    ops::add(a.ref, b.ref, sum_ref);
    Tensor sum = poisoned(shape, dtype());
    ops::add(a.gpu, b.gpu, sum);
    EXPECT_TRUE(close_to_cpu("add", "out", sum, sum_ref, budget()));
    Tensor in_place = a.gpu.clone();
    ops::add(in_place, b.gpu, in_place);
    EXPECT_TRUE(close_to_cpu("add", "out aliasing a", in_place, sum_ref, budget()));
  }
}

// add_bias and bias_backward accumulate into the random values y and dbias hold.
TEST_P(ElementwiseGpu, Bias) {
  Seeds seeds;
  for (const Shape& shape : {Shape{37, 67}, Shape{3, 5, 129}, Shape{20000, 67}, Shape{4, 768},
                             Shape{1, 1}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t c = shape.back();
    const Operand bias = random_operand({c}, dtype(), seeds.next());
    Operand y = random_operand(shape, dtype(), seeds.next());
    ops::add_bias(bias.ref, y.ref);
    ops::add_bias(bias.gpu, y.gpu);
    EXPECT_TRUE(close_to_cpu("add_bias", "y", y.gpu, y.ref, budget()));

    const Operand dy = random_operand(shape, dtype(), seeds.next());
    Operand dbias = random_operand({c}, dtype(), seeds.next());
    ops::bias_backward(dy.ref, dbias.ref);
    ops::bias_backward(dy.gpu, dbias.gpu);
    EXPECT_TRUE(close_to_cpu("bias_backward", "dbias", dbias.gpu, dbias.ref, budget()));
  }
}

Tensor scalar(double v) {
  Tensor t = Tensor::empty({1}, DType::F64);
  t.data<double>()[0] = v;
  return t;
}

TEST_P(ElementwiseGpu, SumAndSumOfSquares) {
  Seeds seeds;
  for (const Shape& shape : {Shape{1}, Shape{1001}, Shape{3, 70001}, Shape{64, 1024}}) {
    SCOPED_TRACE(shape_str(shape));
    const Operand x = random_operand(shape, dtype(), seeds.next(), -0.5, 1.0);
    EXPECT_TRUE(close_to_cpu("sum", "result", scalar(ops::sum(x.gpu)), scalar(ops::sum(x.ref)),
                             budget()));
    EXPECT_TRUE(close_to_cpu("sum_squares", "result", scalar(ops::sum_squares(x.gpu)),
                             scalar(ops::sum_squares(x.ref)), budget()));
  }
}

// Random values and the cases rounding gets wrong: signed zeros, an f32
// denormal, the largest finite values, infinities, and bf16 ties (1 + 2⁻⁸
// rounds down to even, 1 + 3·2⁻⁸ up).
Tensor conversion_values(uint64_t seed) {
  const std::vector<double> special = {0.0,     -0.0,     1e-40,      -3.3e38, 3.39e38,
                                       INFINITY, -INFINITY, 1.00390625, 1.01171875, -2.5};
  const Tensor random = random_tensor({1000}, DType::F64, seed, -3.0, 3.0);
  Tensor all = Tensor::empty({static_cast<int64_t>(1000 + special.size())}, DType::F64);
  std::copy(random.data<double>(), random.data<double>() + 1000, all.data<double>());
  std::copy(special.begin(), special.end(), all.data<double>() + 1000);
  return all;
}

class ConvertGpu : public GpuTest {};

TEST_F(ConvertGpu, SameBitsAsTheCpu) {
  Seeds seeds;
  const Tensor values = conversion_values(seeds.next());
  for (DType from : {DType::F32, DType::F64, DType::BF16}) {
    for (DType to : {DType::F32, DType::F64, DType::BF16}) {
      SCOPED_TRACE(detail::concat(dtype_name(from), " -> ", dtype_name(to)));
      Tensor src = Tensor::empty(values.shape(), from);
      ops::convert(values, src);
      Tensor dst_ref = Tensor::empty(values.shape(), to);
      ops::convert(src, dst_ref);
      Tensor dst = poisoned(values.shape(), to);
      ops::convert(src.to(Device::CUDA), dst);
      EXPECT_TRUE(same_bits("convert", "dst", dst, dst_ref));
    }
  }
}

}  // namespace
}  // namespace weft::testing
