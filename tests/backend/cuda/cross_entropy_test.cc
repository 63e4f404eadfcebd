// Softmax cross-entropy over the whole vocabulary on the GPU against the CPU
// in f64 (the cases: cross_entropy_gpu_testing.h), with dlogits written,
// aliasing the logits, or not asked for.

#include <gtest/gtest.h>

#include "cross_entropy_gpu_testing.h"
#include "weft/backend/cross_entropy.h"

namespace weft::testing {
namespace {

class CrossEntropyGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(CrossEntropyGpu);

TEST_P(CrossEntropyGpu, LossesAndGradient) {
  Seeds seeds;
  for (const LossCase& c : loss_cases()) {
    for (Grad grad : {Grad::Written, Grad::AliasingLogits, Grad::None}) {
      SCOPED_TRACE(case_str(c) + ", " + grad_name(grad));
      const Operand logits = random_operand({c.n, c.vocab}, dtype(), seeds.next(), -c.logit_range,
                                            c.logit_range);
      const Operand targets = ids_operand(targets_for(c, seeds.next()));
      Tensor losses_ref = Tensor::zeros({c.n}, DType::F64);
      Tensor dlogits_ref = grad == Grad::None ? Tensor() : Tensor::zeros({c.n, c.vocab}, DType::F64);
      ops::cross_entropy(logits.ref, targets.ref, c.ignore_index, c.smoothing, c.grad_scale,
                         losses_ref, dlogits_ref);

      Tensor logits_gpu = grad == Grad::AliasingLogits ? logits.gpu.clone() : logits.gpu;
      Tensor losses = poisoned({c.n}, dtype());
      Tensor dlogits = grad == Grad::Written          ? poisoned({c.n, c.vocab}, dtype())
                       : grad == Grad::AliasingLogits ? logits_gpu
                                                      : Tensor();
      ops::cross_entropy(logits_gpu, targets.gpu, c.ignore_index, c.smoothing, c.grad_scale,
                         losses, dlogits);
      EXPECT_TRUE(close_to_cpu("cross_entropy", "losses", losses, losses_ref, budget()));
      if (grad != Grad::None) {
        EXPECT_TRUE(close_to_cpu("cross_entropy", "dlogits", dlogits, dlogits_ref, budget()));
      }
    }
  }
}

}  // namespace
}  // namespace weft::testing
