// GEMM on the GPU against the CPU in f64: every transpose, alpha and beta,
// sizes off every multiple of 8, 16 and 128.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/backend/gemm.h"

namespace weft::testing {
namespace {

class GemmGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(GemmGpu);

struct GemmCase {
  Shape a, b, c;  // as stored, before op()
  bool trans_a, trans_b;
  double alpha, beta;
};

TEST_P(GemmGpu, EveryTransposeAndScale) {
  // Sizes off every multiple of 8, 16 and 128, a vector, leading batch
  // dimensions, and beta != 0 (c read and accumulated into).
  const std::vector<GemmCase> cases = {
      {{37, 29}, {53, 29}, {37, 53}, false, true, 1.0, 0.0},    // y = x·wᵀ
      {{37, 53}, {53, 29}, {37, 29}, false, false, 1.0, 0.0},   // dx = dy·w
      {{37, 53}, {37, 29}, {53, 29}, true, false, 1.0, 1.0},    // dw += dyᵀ·x
      {{29, 37}, {53, 29}, {37, 53}, true, true, 0.5, -0.25},
      {{1, 130}, {67, 130}, {1, 67}, false, true, 2.0, 0.0},
      {{3, 7, 96}, {200, 96}, {3, 7, 200}, false, true, 1.0, 0.0},
      {{129, 257}, {257, 72}, {129, 72}, false, false, 1.0, 0.5},
  };
  Seeds seeds;
  for (const GemmCase& g : cases) {
    SCOPED_TRACE(shape_str(g.a) + (g.trans_a ? "ᵀ" : "") + " · " + shape_str(g.b) +
                 (g.trans_b ? "ᵀ" : "") + ", alpha " + std::to_string(g.alpha) + ", beta " +
                 std::to_string(g.beta));
    const Operand a = random_operand(g.a, dtype(), seeds.next());
    const Operand b = random_operand(g.b, dtype(), seeds.next());
    // With beta = 0, c is not read (the BLAS convention): NaN there must not leak.
    Operand c = g.beta != 0.0 ? random_operand(g.c, dtype(), seeds.next())
                              : Operand{poisoned(g.c, dtype()), Tensor::zeros(g.c, DType::F64)};
    ops::gemm(a.ref, g.trans_a, b.ref, g.trans_b, c.ref, g.alpha, g.beta);
    ops::gemm(a.gpu, g.trans_a, b.gpu, g.trans_b, c.gpu, g.alpha, g.beta);
    EXPECT_TRUE(close_to_cpu("gemm", "c", c.gpu, c.ref, budget()));
  }
}

}  // namespace
}  // namespace weft::testing
