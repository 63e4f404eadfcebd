// Rotary position embedding forward and backward on the GPU against the CPU
// in f64, with the output written apart or over the input. Head sizes of one
// pair, off every pack width and on it; LLaMA 2's and LLaMA 3's bases.

#include "weft/backend/rotary.h"

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

struct Case {
  Shape shape;
  int64_t start;
  double theta;
};

// Positions stay below 27: the f32 angle p·inv_freq (as transformers forms
// it, and with powf's and sincosf's own error) is off by up to about
// p·2e-7 radians, within the f32 budget there.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {{{2, 7, 3, 10}, 3, 10000.0},
                                        {{3, 5, 1, 2}, 0, 10000.0},
                                        {{1, 9, 5, 22}, 11, 500000.0},
                                        {{2, 21, 4, 64}, 5, 10000.0},
                                        {{3, 17, 2, 128}, 10, 500000.0}};
  return all;
}

class RotaryGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(RotaryGpu);

// forward, or backward when `inverse`; judged by `budget`.
void expect_rotary(const Case& c, DType dtype, bool inverse, bool in_place, double budget,
                   Seeds& seeds) {
  const char* op = inverse ? "rotary_backward" : "rotary_forward";
  SCOPED_TRACE(detail::concat(op, " over ", shape_str(c.shape), " from ", c.start,
                              in_place ? ", output over input" : ""));
  const Operand in = random_operand(c.shape, dtype, seeds.next());
  Tensor ref = Tensor::zeros(c.shape, DType::F64);
  Tensor out = in_place ? in.gpu.clone() : poisoned(c.shape, dtype);
  if (inverse) {
    ops::rotary_backward(in.ref, c.start, c.theta, ref);
    ops::rotary_backward(in_place ? out : in.gpu, c.start, c.theta, out);
  } else {
    ops::rotary_forward(in.ref, c.start, c.theta, ref);
    ops::rotary_forward(in_place ? out : in.gpu, c.start, c.theta, out);
  }
  EXPECT_TRUE(close_to_cpu(op, inverse ? "dx" : "y", out, ref, budget));
}

TEST_P(RotaryGpu, ForwardAndBackward) {
  Seeds seeds;
  for (const Case& c : cases()) {
    for (bool inverse : {false, true}) {
      for (bool in_place : {false, true})
        expect_rotary(c, dtype(), inverse, in_place, budget(), seeds);
    }
  }
}

// Far into a sequence, within the bf16 budget in either precision: the f32
// angle's own error (about p·2e-7) exceeds the f32 budget there, on the CPU
// in f32 as on the GPU.
TEST_P(RotaryGpu, FarPositions) {
  Seeds seeds;
  const Case far = {{2, 16, 4, 64}, 4000, 10000.0};
  for (bool inverse : {false, true}) {
    expect_rotary(far, dtype(), inverse, false, gpu_budget(DType::BF16), seeds);
  }
}

}  // namespace
}  // namespace weft::testing
