// Flash attention (flash_attention.h), forward and backward, on the GPU
// against the CPU in f64 (the problems: attention_gpu_testing.h). The
// backward is fed the reference forward's out and lse rounded to the GPU's
// dtype, so it is judged on its own.

#include <gtest/gtest.h>

#include "attention_gpu_testing.h"
#include "weft/backend/flash_attention.h"

namespace weft::testing {
namespace {

class FlashAttentionGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(FlashAttentionGpu);

TEST_P(FlashAttentionGpu, Forward) {
  Seeds seeds;
  for (const AttentionCase& c : attention_cases()) {
    SCOPED_TRACE(case_str(c));
    const AttentionOperands in = operands_for(c, dtype(), seeds);
    const Shape lse_shape = {c.B, c.H, c.Tq};
    Tensor lse_ref = Tensor::zeros(lse_shape, DType::F32), out_ref = ref_zeros(in.q.ref.shape());
    ops::flash_attention_forward(in.q.ref, in.k.ref, in.v.ref, in.key_valid.ref, c.causal,
                                 in.scale, lse_ref, out_ref);
    Tensor lse = poisoned(lse_shape, DType::F32), out = poisoned(in.q.ref.shape(), dtype());
    ops::flash_attention_forward(in.q.gpu, in.k.gpu, in.v.gpu, in.key_valid.gpu, c.causal,
                                 in.scale, lse, out);
    EXPECT_TRUE(close_to_cpu("flash_attention_forward", "out", out, out_ref, budget()));
    EXPECT_TRUE(close_to_cpu("flash_attention_forward", "lse", lse, lse_ref, budget()));
  }
}

TEST_P(FlashAttentionGpu, Backward) {
  Seeds seeds;
  for (const AttentionCase& c : attention_cases()) {
    SCOPED_TRACE(case_str(c));
    const AttentionOperands in = operands_for(c, dtype(), seeds);
    const Shape lse_shape = {c.B, c.H, c.Tq};
    Tensor forward_lse = Tensor::zeros(lse_shape, DType::F32);
    Tensor forward_out = ref_zeros(in.q.ref.shape());
    ops::flash_attention_forward(in.q.ref, in.k.ref, in.v.ref, in.key_valid.ref, c.causal,
                                 in.scale, forward_lse, forward_out);
    const Operand out = operand_of(forward_out, dtype());
    const Operand lse{forward_lse.to(Device::CUDA), forward_lse};

    Tensor dq_ref = ref_zeros(in.q.ref.shape()), dk_ref = ref_zeros(in.k.ref.shape());
    Tensor dv_ref = ref_zeros(in.v.ref.shape());
    ops::flash_attention_backward(in.q.ref, in.k.ref, in.v.ref, in.key_valid.ref, c.causal,
                                  in.scale, out.ref, lse.ref, in.dout.ref, dq_ref, dk_ref, dv_ref);
    Tensor dq = poisoned(in.q.ref.shape(), dtype()), dk = poisoned(in.k.ref.shape(), dtype());
    Tensor dv = poisoned(in.v.ref.shape(), dtype());
    ops::flash_attention_backward(in.q.gpu, in.k.gpu, in.v.gpu, in.key_valid.gpu, c.causal,
                                  in.scale, out.gpu, lse.gpu, in.dout.gpu, dq, dk, dv);
    EXPECT_TRUE(close_to_cpu("flash_attention_backward", "dq", dq, dq_ref, budget()));
    EXPECT_TRUE(close_to_cpu("flash_attention_backward", "dk", dk, dk_ref, budget()));
    EXPECT_TRUE(close_to_cpu("flash_attention_backward", "dv", dv, dv_ref, budget()));
  }
}

}  // namespace
}  // namespace weft::testing
