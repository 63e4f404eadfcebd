// RMS norm forward and backward on the GPU against the CPU in f64. Row widths
// off every multiple of 8, 16 and 128 next to 768 and 1000, and one whose
// gain-gradient partial sums need more than the default 48 KiB of shared
// memory; outputs apart from and over their inputs.

#include "weft/backend/rms_norm.h"

#include <gtest/gtest.h>

#include "gpu_testing.h"

namespace weft::testing {
namespace {

constexpr double kEps = 1e-5;

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {{37, 67},    {5, 768}, {130, 1000},
                                         {3, 7, 129}, {4, 1},   {6, 16400}};
  return all;
}

int64_t rows_of(const Shape& x) {
  return shape_numel(x) / x.back();
}

class RmsNormGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(RmsNormGpu);

TEST_P(RmsNormGpu, Forward) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    for (bool in_place : {false, true}) {
      SCOPED_TRACE("x " + shape_str(shape) + (in_place ? ", y over x" : ""));
      const int64_t rows = rows_of(shape);
      const Operand x = random_operand(shape, dtype(), seeds.next(), -2.0, 3.0);
      const Operand gamma = random_operand({shape.back()}, dtype(), seeds.next(), 0.5, 1.5);
      Tensor y_ref = Tensor::zeros(shape, DType::F64), rstd_ref = Tensor::zeros({rows}, DType::F64);
      ops::rms_norm_forward(x.ref, gamma.ref, kEps, y_ref, rstd_ref);
      Tensor y = in_place ? x.gpu.clone() : poisoned(shape, dtype());
      Tensor rstd = poisoned({rows}, dtype());
      ops::rms_norm_forward(in_place ? y : x.gpu, gamma.gpu, kEps, y, rstd);
      EXPECT_TRUE(close_to_cpu("rms_norm_forward", "y", y, y_ref, budget()));
      EXPECT_TRUE(close_to_cpu("rms_norm_forward", "rstd", rstd, rstd_ref, budget()));
    }
  }
}

// dx is written (apart from dy, or over it); dgamma accumulates into the
// random values it holds. x, dy, gamma and dx are `dtype`, rstd `stat_dtype`,
// dgamma `grad_dtype`; each is judged by its own dtype's budget.
void expect_backward(const Shape& shape, DType dtype, DType stat_dtype, DType grad_dtype,
                     bool dx_over_dy, Seeds& seeds) {
  const int64_t rows = rows_of(shape), d = shape.back();
  const Operand x = random_operand(shape, dtype, seeds.next(), -2.0, 3.0);
  const Operand dy = random_operand(shape, dtype, seeds.next());
  const Operand gamma = random_operand({d}, dtype, seeds.next(), 0.5, 1.5);
  Tensor forward_y = Tensor::zeros(shape, DType::F64);
  Tensor forward_rstd = Tensor::zeros({rows}, DType::F64);
  ops::rms_norm_forward(x.ref, gamma.ref, kEps, forward_y, forward_rstd);
  const Operand rstd = operand_of(forward_rstd, stat_dtype);

  Operand dgamma = random_operand({d}, grad_dtype, seeds.next());
  Tensor dx_ref = Tensor::zeros(shape, DType::F64);
  ops::rms_norm_backward(dy.ref, x.ref, gamma.ref, rstd.ref, dx_ref, dgamma.ref);
  Tensor dx = dx_over_dy ? dy.gpu.clone() : poisoned(shape, dtype);
  ops::rms_norm_backward(dx_over_dy ? dx : dy.gpu, x.gpu, gamma.gpu, rstd.gpu, dx, dgamma.gpu);
  EXPECT_TRUE(close_to_cpu("rms_norm_backward", "dx", dx, dx_ref, gpu_budget(dtype)));
  EXPECT_TRUE(
      close_to_cpu("rms_norm_backward", "dgamma", dgamma.gpu, dgamma.ref, gpu_budget(grad_dtype)));
}

TEST_P(RmsNormGpu, Backward) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    for (bool dx_over_dy : {false, true}) {
      SCOPED_TRACE("x " + shape_str(shape) + (dx_over_dy ? ", dx over dy" : ""));
      expect_backward(shape, dtype(), dtype(), dtype(), dx_over_dy, seeds);
    }
  }
}

// Mixed precision: bf16 data, f32 rstd and an f32 main gradient dgamma,
// within the f32 budget, which rounding it to bf16 would exceed.
class RmsNormMainGradientGpu : public GpuTest {};

TEST_F(RmsNormMainGradientGpu, Bf16RowsIntoF32Gradient) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE("x " + shape_str(shape));
    expect_backward(shape, DType::BF16, DType::F32, DType::F32, false, seeds);
  }
}

}  // namespace
}  // namespace weft::testing
