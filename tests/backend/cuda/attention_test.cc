// Attention in the probabilities form (attention.h), forward and backward,
// on the GPU against the CPU in f64 (the problems: attention_gpu_testing.h).
// The backward is fed the reference forward's probs rounded to the GPU's
// dtype, so it is judged on its own.

#include <gtest/gtest.h>

#include "attention_gpu_testing.h"
#include "weft/backend/attention.h"

namespace weft::testing {
namespace {

class AttentionGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(AttentionGpu);

TEST_P(AttentionGpu, ProbabilitiesFormForward) {
  Seeds seeds;
  for (const AttentionCase& c : attention_cases()) {
    SCOPED_TRACE(case_str(c));
    const AttentionOperands in = operands_for(c, dtype(), seeds);
    const Shape probs_shape = {c.B, c.H, c.Tq, c.Tk};
    Tensor probs_ref = ref_zeros(probs_shape), out_ref = ref_zeros(in.q.ref.shape());
    ops::attention_forward(in.q.ref, in.k.ref, in.v.ref, in.key_valid.ref, c.causal, in.scale,
                           probs_ref, out_ref);
    Tensor probs = poisoned(probs_shape, dtype()), out = poisoned(in.q.ref.shape(), dtype());
    ops::attention_forward(in.q.gpu, in.k.gpu, in.v.gpu, in.key_valid.gpu, c.causal, in.scale,
                           probs, out);
    EXPECT_TRUE(close_to_cpu("attention_forward", "probs", probs, probs_ref, budget()));
    EXPECT_TRUE(close_to_cpu("attention_forward", "out", out, out_ref, budget()));
  }
}

TEST_P(AttentionGpu, ProbabilitiesFormBackward) {
  Seeds seeds;
  for (const AttentionCase& c : attention_cases()) {
    SCOPED_TRACE(case_str(c));
    const AttentionOperands in = operands_for(c, dtype(), seeds);
    const Shape probs_shape = {c.B, c.H, c.Tq, c.Tk};
    Tensor forward_probs = ref_zeros(probs_shape), forward_out = ref_zeros(in.q.ref.shape());
    ops::attention_forward(in.q.ref, in.k.ref, in.v.ref, in.key_valid.ref, c.causal, in.scale,
                           forward_probs, forward_out);
    const Operand probs = operand_of(forward_probs, dtype());

    Tensor dprobs_ref = ref_zeros(probs_shape), dq_ref = ref_zeros(in.q.ref.shape());
    Tensor dk_ref = ref_zeros(in.k.ref.shape()), dv_ref = ref_zeros(in.v.ref.shape());
    ops::attention_backward(in.q.ref, in.k.ref, in.v.ref, probs.ref, in.dout.ref, in.scale,
                            dprobs_ref, dq_ref, dk_ref, dv_ref);
    Tensor dprobs = poisoned(probs_shape, dtype());  // scratch: whatever it holds
    Tensor dq = poisoned(in.q.ref.shape(), dtype()), dk = poisoned(in.k.ref.shape(), dtype());
    Tensor dv = poisoned(in.v.ref.shape(), dtype());
    ops::attention_backward(in.q.gpu, in.k.gpu, in.v.gpu, probs.gpu, in.dout.gpu, in.scale,
                            dprobs, dq, dk, dv);
    EXPECT_TRUE(close_to_cpu("attention_backward", "dq", dq, dq_ref, budget()));
    EXPECT_TRUE(close_to_cpu("attention_backward", "dk", dk, dk_ref, budget()));
    EXPECT_TRUE(close_to_cpu("attention_backward", "dv", dv, dv_ref, budget()));
  }
}

}  // namespace
}  // namespace weft::testing
