// The SwiGLU gate, forward and backward, on the GPU against the CPU in f64,
// with the outputs written apart or over an input.

#include "weft/backend/swiglu.h"

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

class SwiGluGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(SwiGluGpu);

TEST_P(SwiGluGpu, ForwardAndBackward) {
  Seeds seeds;
  for (const Shape& shape : elementwise_shapes()) {
    for (bool aliased : {false, true}) {
      SCOPED_TRACE(detail::concat("swiglu over ", shape_str(shape),
                                  aliased ? ", h over up, dgate over dh" : ""));
      const Operand gate = random_operand(shape, dtype(), seeds.next(), -8.0, 8.0);
      const Operand up = random_operand(shape, dtype(), seeds.next());
      Tensor h_ref = Tensor::zeros(shape, DType::F64);
      ops::swiglu_forward(gate.ref, up.ref, h_ref);
      Tensor h = aliased ? up.gpu.clone() : poisoned(shape, dtype());
      ops::swiglu_forward(gate.gpu, aliased ? h : up.gpu, h);
      EXPECT_TRUE(close_to_cpu("swiglu_forward", "h", h, h_ref, budget()));

      const Operand dh = random_operand(shape, dtype(), seeds.next());
      Tensor dgate_ref = Tensor::zeros(shape, DType::F64),
             dup_ref = Tensor::zeros(shape, DType::F64);
      ops::swiglu_backward(dh.ref, gate.ref, up.ref, dgate_ref, dup_ref);
      Tensor dgate = aliased ? dh.gpu.clone() : poisoned(shape, dtype());
      Tensor dup = poisoned(shape, dtype());
      ops::swiglu_backward(aliased ? dgate : dh.gpu, gate.gpu, up.gpu, dgate, dup);
      EXPECT_TRUE(close_to_cpu("swiglu_backward", "dgate", dgate, dgate_ref, budget()));
      EXPECT_TRUE(close_to_cpu("swiglu_backward", "dup", dup, dup_ref, budget()));
    }
  }
}

}  // namespace
}  // namespace weft::testing
