// The fused linear layer (bias and GELU epilogues) on the GPU against the
// CPU in f64. The fused ops' reference is the same steps one after another
// on the CPU, as linear.h defines them.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/backend/activation.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/linear.h"

namespace weft::testing {
namespace {

class LinearGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(LinearGpu);

struct LinearCase {
  Shape x;
  int64_t out;
  bool bias, gelu;
};

TEST_P(LinearGpu, ForwardWithEveryEpilogue) {
  const std::vector<LinearCase> cases = {
      {{3, 13, 67}, 101, true, true},  {{3, 13, 67}, 101, true, false},
      {{3, 13, 67}, 101, false, true}, {{3, 13, 67}, 101, false, false},
      {{200, 64}, 256, true, true},    {{1, 5}, 3, true, false},
  };
  Seeds seeds;
  for (const LinearCase& l : cases) {
    SCOPED_TRACE("x " + shape_str(l.x) + " -> " + std::to_string(l.out) +
                 (l.bias ? ", bias" : "") + (l.gelu ? ", gelu" : ""));
    const int64_t in = l.x.back();
    Shape y_shape = l.x;
    y_shape.back() = l.out;
    const Operand x = random_operand(l.x, dtype(), seeds.next(), -2.0, 2.0);
    const Operand w = random_operand({l.out, in}, dtype(), seeds.next(), -0.5, 0.5);
    const Operand bias = l.bias ? random_operand({l.out}, dtype(), seeds.next()) : Operand{};

    Tensor pre_ref = Tensor::zeros(y_shape, DType::F64), y_ref = Tensor::zeros(y_shape, DType::F64);
    ops::gemm(x.ref, false, w.ref, true, pre_ref);
    if (l.bias) ops::add_bias(bias.ref, pre_ref);
    if (l.gelu) {
      ops::activation_forward(ops::Activation::GELU, pre_ref, y_ref);
    } else {
      y_ref.copy_from(pre_ref);
    }

    Tensor pre = l.gelu ? poisoned(y_shape, dtype()) : Tensor();
    Tensor y = poisoned(y_shape, dtype());
    ops::linear_forward(x.gpu, w.gpu, bias.gpu, l.gelu, pre, y);
    EXPECT_TRUE(close_to_cpu("linear_forward", "y", y, y_ref, budget()));
    if (l.gelu) {
      EXPECT_TRUE(close_to_cpu("linear_forward", "pre", pre, pre_ref, budget()));
    }
  }
}

TEST_P(LinearGpu, BackwardThroughGelu) {
  struct Case {
    Shape dy;
    int64_t in;
  };
  const std::vector<Case> cases = {{{3, 13, 101}, 67}, {{200, 256}, 64}, {{1, 3}, 5}};
  Seeds seeds;
  for (const Case& c : cases) {
    SCOPED_TRACE("dy " + shape_str(c.dy) + ", in " + std::to_string(c.in));
    Shape pre_shape = c.dy;
    pre_shape.back() = c.in;
    const Operand dy = random_operand(c.dy, dtype(), seeds.next());
    const Operand w = random_operand({c.dy.back(), c.in}, dtype(), seeds.next(), -0.5, 0.5);
    const Operand pre = random_operand(pre_shape, dtype(), seeds.next(), -4.0, 4.0);

    Tensor grad_ref = Tensor::zeros(pre_shape, DType::F64);
    Tensor dpre_ref = Tensor::zeros(pre_shape, DType::F64);
    ops::gemm(dy.ref, false, w.ref, false, grad_ref);
    ops::activation_backward(ops::Activation::GELU, pre.ref, grad_ref, dpre_ref);

    Tensor dpre = poisoned(pre_shape, dtype());
    ops::linear_backward_gelu(dy.gpu, w.gpu, pre.gpu, dpre);
    EXPECT_TRUE(close_to_cpu("linear_backward_gelu", "dpre", dpre, dpre_ref, budget()));
  }
}

}  // namespace
}  // namespace weft::testing
