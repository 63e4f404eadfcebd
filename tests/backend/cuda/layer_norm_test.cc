// Layer norm forward and backward, and the residual add fused with it, on the
// GPU against the CPU in f64. Row widths off every multiple of 8, 16 and 128
// next to 768 and 1000; the fused op's reference is add then layer norm.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/layer_norm.h"

namespace weft::testing {
namespace {

constexpr double kEps = 1e-5;

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {{37, 67}, {5, 768}, {130, 1000}, {3, 7, 129}, {4, 1}};
  return all;
}

int64_t rows_of(const Shape& x) { return shape_numel(x) / x.back(); }

struct Params {
  Operand gamma, beta;
};

Params params_for(int64_t d, DType dtype, Seeds& seeds) {
  return {random_operand({d}, dtype, seeds.next(), 0.5, 1.5),
          random_operand({d}, dtype, seeds.next(), -0.5, 0.5)};
}

class LayerNormGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(LayerNormGpu);

TEST_P(LayerNormGpu, Forward) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE("x " + shape_str(shape));
    const int64_t rows = rows_of(shape);
    const Operand x = random_operand(shape, dtype(), seeds.next(), -2.0, 3.0);
    const Params p = params_for(shape.back(), dtype(), seeds);
    Tensor y_ref = Tensor::zeros(shape, DType::F64);
    Tensor mean_ref = Tensor::zeros({rows}, DType::F64), rstd_ref = Tensor::zeros({rows}, DType::F64);
    ops::layer_norm_forward(x.ref, p.gamma.ref, p.beta.ref, kEps, y_ref, mean_ref, rstd_ref);
    Tensor y = poisoned(shape, dtype());
    Tensor mean = poisoned({rows}, dtype()), rstd = poisoned({rows}, dtype());
    ops::layer_norm_forward(x.gpu, p.gamma.gpu, p.beta.gpu, kEps, y, mean, rstd);
    EXPECT_TRUE(close_to_cpu("layer_norm_forward", "y", y, y_ref, budget()));
    EXPECT_TRUE(close_to_cpu("layer_norm_forward", "mean", mean, mean_ref, budget()));
    EXPECT_TRUE(close_to_cpu("layer_norm_forward", "rstd", rstd, rstd_ref, budget()));
  }
}

TEST_P(LayerNormGpu, AddThenNormalise) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    for (bool sum_aliases_a : {false, true}) {
      SCOPED_TRACE("x " + shape_str(shape) + (sum_aliases_a ? ", sum aliases a" : ""));
      const int64_t rows = rows_of(shape);
      const Operand a = random_operand(shape, dtype(), seeds.next(), -2.0, 3.0);
      const Operand b = random_operand(shape, dtype(), seeds.next(), -1.0, 1.0);
      const Params p = params_for(shape.back(), dtype(), seeds);
      Tensor sum_ref = Tensor::zeros(shape, DType::F64), y_ref = Tensor::zeros(shape, DType::F64);
      Tensor mean_ref = Tensor::zeros({rows}, DType::F64);
      Tensor rstd_ref = Tensor::zeros({rows}, DType::F64);
      ops::add(a.ref, b.ref, sum_ref);
      ops::layer_norm_forward(sum_ref, p.gamma.ref, p.beta.ref, kEps, y_ref, mean_ref, rstd_ref);

      Tensor a_gpu = a.gpu.clone();
      Tensor sum = sum_aliases_a ? a_gpu : poisoned(shape, dtype());
      Tensor y = poisoned(shape, dtype());
      Tensor mean = poisoned({rows}, dtype()), rstd = poisoned({rows}, dtype());
      ops::add_layer_norm_forward(a_gpu, b.gpu, p.gamma.gpu, p.beta.gpu, kEps, sum, y, mean, rstd);
      EXPECT_TRUE(close_to_cpu("add_layer_norm_forward", "sum", sum, sum_ref, budget()));
      EXPECT_TRUE(close_to_cpu("add_layer_norm_forward", "y", y, y_ref, budget()));
      EXPECT_TRUE(close_to_cpu("add_layer_norm_forward", "mean", mean, mean_ref, budget()));
      EXPECT_TRUE(close_to_cpu("add_layer_norm_forward", "rstd", rstd, rstd_ref, budget()));
    }
  }
}

// dx is written; dgamma and dbeta accumulate into the random values they
// hold. x, dy, gamma and dx are `dtype`, mean and rstd `stat_dtype`, dgamma
// and dbeta `grad_dtype`; each is judged by its own dtype's budget.
void expect_backward(const Shape& shape, DType dtype, DType stat_dtype, DType grad_dtype,
                     Seeds& seeds) {
  const int64_t rows = rows_of(shape), d = shape.back();
  const Operand x = random_operand(shape, dtype, seeds.next(), -2.0, 3.0);
  const Operand dy = random_operand(shape, dtype, seeds.next());
  const Params p = params_for(d, dtype, seeds);
  Tensor forward_y = Tensor::zeros(shape, DType::F64);
  Tensor forward_mean = Tensor::zeros({rows}, DType::F64);
  Tensor forward_rstd = Tensor::zeros({rows}, DType::F64);
  ops::layer_norm_forward(x.ref, p.gamma.ref, p.beta.ref, kEps, forward_y, forward_mean,
                          forward_rstd);
  const Operand mean = operand_of(forward_mean, stat_dtype);
  const Operand rstd = operand_of(forward_rstd, stat_dtype);

  Operand dgamma = random_operand({d}, grad_dtype, seeds.next());
  Operand dbeta = random_operand({d}, grad_dtype, seeds.next());
  Tensor dx_ref = Tensor::zeros(shape, DType::F64);
  ops::layer_norm_backward(dy.ref, x.ref, p.gamma.ref, mean.ref, rstd.ref, dx_ref, dgamma.ref,
                           dbeta.ref);
  Tensor dx = poisoned(shape, dtype);
  ops::layer_norm_backward(dy.gpu, x.gpu, p.gamma.gpu, mean.gpu, rstd.gpu, dx, dgamma.gpu,
                           dbeta.gpu);
  EXPECT_TRUE(close_to_cpu("layer_norm_backward", "dx", dx, dx_ref, gpu_budget(dtype)));
  EXPECT_TRUE(close_to_cpu("layer_norm_backward", "dgamma", dgamma.gpu, dgamma.ref,
                           gpu_budget(grad_dtype)));
  EXPECT_TRUE(
      close_to_cpu("layer_norm_backward", "dbeta", dbeta.gpu, dbeta.ref, gpu_budget(grad_dtype)));
}

TEST_P(LayerNormGpu, Backward) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE("x " + shape_str(shape));
    expect_backward(shape, dtype(), dtype(), dtype(), seeds);
  }
}

// Mixed precision: bf16 data, f32 statistics and f32 main gradients dgamma
// and dbeta, within the f32 budget, which rounding them to bf16 would exceed.
class LayerNormMainGradientGpu : public GpuTest {};

TEST_F(LayerNormMainGradientGpu, Bf16RowsIntoF32Gradients) {
  Seeds seeds;
  for (const Shape& shape : shapes()) {
    SCOPED_TRACE("x " + shape_str(shape));
    expect_backward(shape, DType::BF16, DType::F32, DType::F32, seeds);
  }
}

}  // namespace
}  // namespace weft::testing
