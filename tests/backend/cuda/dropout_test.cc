// Dropout on the GPU against the CPU in f64: the mask must drop exactly the
// elements the CPU drops, bit for bit, under any shard offsets.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/dropout.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

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

}  // namespace
}  // namespace weft::testing
