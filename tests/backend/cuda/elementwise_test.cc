// The elementwise ops (elementwise.h) on the GPU against the CPU in f64;
// conversions must give the CPU's bits exactly.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

class ElementwiseGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(ElementwiseGpu);

TEST_P(ElementwiseGpu, FillScaleAxpyAdd) {
  Seeds seeds;
  for (const Shape& shape : elementwise_shapes()) {
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

const std::vector<Shape>& bias_shapes() {
  static const std::vector<Shape> all = {{37, 67}, {3, 5, 129}, {20000, 67}, {4, 768}, {1, 1}};
  return all;
}

// dbias += Σ rows of dy, from the random values dbias holds, judged by the
// budget of dbias's dtype.
void expect_bias_backward(const Shape& shape, DType dy_dtype, DType dbias_dtype, Seeds& seeds) {
  const Operand dy = random_operand(shape, dy_dtype, seeds.next());
  Operand dbias = random_operand({shape.back()}, dbias_dtype, seeds.next());
  ops::bias_backward(dy.ref, dbias.ref);
  ops::bias_backward(dy.gpu, dbias.gpu);
  EXPECT_TRUE(
      close_to_cpu("bias_backward", "dbias", dbias.gpu, dbias.ref, gpu_budget(dbias_dtype)));
}

// add_bias and bias_backward accumulate into the random values y and dbias hold.
TEST_P(ElementwiseGpu, Bias) {
  Seeds seeds;
  for (const Shape& shape : bias_shapes()) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t c = shape.back();
    const Operand bias = random_operand({c}, dtype(), seeds.next());
    Operand y = random_operand(shape, dtype(), seeds.next());
    ops::add_bias(bias.ref, y.ref);
    ops::add_bias(bias.gpu, y.gpu);
    EXPECT_TRUE(close_to_cpu("add_bias", "y", y.gpu, y.ref, budget()));
    expect_bias_backward(shape, dtype(), dtype(), seeds);
  }
}

// Main gradients: bf16 dy summed into an f32 dbias within the f32 budget,
// which a sum rounded to bf16 on the way would exceed.
class BiasMainGradientGpu : public GpuTest {};

TEST_F(BiasMainGradientGpu, Bf16RowsIntoF32Bias) {
  Seeds seeds;
  for (const Shape& shape : bias_shapes()) {
    SCOPED_TRACE(shape_str(shape));
    expect_bias_backward(shape, DType::BF16, DType::F32, seeds);
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

// The gradient norm's multi-tensor reduction: each sum equals the one-tensor
// reduction on the GPU bit for bit (the same kernels, queued together), and
// the CPU's within the budget.
TEST_P(ElementwiseGpu, SumOfSquaresOfManyTensors) {
  Seeds seeds;
  std::vector<Operand> operands;
  std::vector<Tensor> on_gpu;
  for (const Shape& shape : {Shape{1}, Shape{0}, Shape{1001}, Shape{3, 70001}}) {
    operands.push_back(random_operand(shape, dtype(), seeds.next(), -0.5, 1.0));
    on_gpu.push_back(operands.back().gpu);
  }
  const std::vector<double> sums = ops::sum_squares_many(on_gpu);
  ASSERT_EQ(sums.size(), operands.size());
  for (size_t i = 0; i < operands.size(); ++i) {
    EXPECT_EQ(sums[i], ops::sum_squares(operands[i].gpu)) << i;
    EXPECT_TRUE(close_to_cpu("sum_squares_many", "result", scalar(sums[i]),
                             scalar(ops::sum_squares(operands[i].ref)), budget()));
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
