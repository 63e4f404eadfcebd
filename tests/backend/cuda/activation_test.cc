// ReLU and GELU, forward and backward, on the GPU against the CPU in f64,
// with the output written apart or over the input.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/activation.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

const char* act_name(ops::Activation act) {
  return act == ops::Activation::GELU ? "gelu" : "relu";
}

class ActivationGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(ActivationGpu);

TEST_P(ActivationGpu, ForwardAndBackward) {
  Seeds seeds;
  for (ops::Activation act : {ops::Activation::ReLU, ops::Activation::GELU}) {
    for (const Shape& shape : elementwise_shapes()) {
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

}  // namespace
}  // namespace weft::testing
