// Grouped-query attention's repeated key/value heads, forward and backward,
// on the GPU against the CPU in f64. Head sizes off and on the pack width;
// one group (a copy) and groups of one key/value head.

#include "weft/backend/repeat_kv.h"

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

struct Case {
  Shape x;
  int64_t groups;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {{{2, 5, 3, 7}, 4},
                                        {{3, 7, 2, 5}, 1},
                                        {{1, 3, 1, 9}, 7},
                                        {{2, 33, 2, 64}, 4},
                                        {{4, 129, 8, 128}, 8}};
  return all;
}

class RepeatKvGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(RepeatKvGpu);

TEST_P(RepeatKvGpu, ForwardAndBackward) {
  Seeds seeds;
  for (const Case& c : cases()) {
    SCOPED_TRACE(detail::concat("x ", shape_str(c.x), " in groups of ", c.groups));
    const Shape heads = {c.x[0], c.x[1], c.x[2] * c.groups, c.x[3]};
    const Operand x = random_operand(c.x, dtype(), seeds.next());
    Tensor y_ref = Tensor::zeros(heads, DType::F64);
    ops::repeat_kv_forward(x.ref, c.groups, y_ref);
    Tensor y = poisoned(heads, dtype());
    ops::repeat_kv_forward(x.gpu, c.groups, y);
    EXPECT_TRUE(close_to_cpu("repeat_kv_forward", "y", y, y_ref, 0.0));  // a copy

    const Operand dy = random_operand(heads, dtype(), seeds.next());
    Tensor dx_ref = Tensor::zeros(c.x, DType::F64);
    ops::repeat_kv_backward(dy.ref, c.groups, dx_ref);
    Tensor dx = poisoned(c.x, dtype());
    ops::repeat_kv_backward(dy.gpu, c.groups, dx);
    EXPECT_TRUE(close_to_cpu("repeat_kv_backward", "dx", dx, dx_ref, budget()));
  }
}

}  // namespace
}  // namespace weft::testing
