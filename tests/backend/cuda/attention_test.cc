// Attention in both forms, probabilities stored (attention.h) and flash
// (flash_attention.h), forward and backward, on the GPU against the CPU in
// f64: causal and padded masks, Tq != Tk, queries that see no key, head
// dimensions 64 and 16, sequences longer than one tile.
//
// A backward is fed the reference forward's results (probs, or out and lse)
// rounded to the GPU's dtype, so each op is judged on its own.

#include <gtest/gtest.h>

#include <cmath>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/attention.h"
#include "weft/tensor/counter_rng.h"
#include "weft/backend/flash_attention.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

struct AttentionCase {
  int64_t B, Tq, Tk, H, Dh;
  bool causal, padded;
};

std::string case_str(const AttentionCase& c) {
  return detail::concat("B ", c.B, ", Tq ", c.Tq, ", Tk ", c.Tk, ", H ", c.H, ", Dh ", c.Dh,
                        c.causal ? ", causal" : "", c.padded ? ", padded" : "");
}

const std::vector<AttentionCase>& cases() {
  static const std::vector<AttentionCase> all = {
      {2, 17, 17, 3, 64, true, false},
      {2, 13, 29, 2, 64, false, true},
      {1, 5, 37, 4, 16, true, true},    // queries at the end of a key/value cache
      {3, 19, 7, 2, 16, true, true},    // Tq > Tk: the first 12 queries see no key
      {2, 130, 130, 1, 64, true, true},  // longer than one tile
      {2, 70, 45, 2, 16, false, false},
      {1, 1, 1, 1, 16, false, false},
  };
  return all;
}

// (B,Tk) i32: about one key in four hidden, and the last sequence of a batch
// of three or more hidden entirely (its queries see no key at all).
Tensor key_valid_mask(const AttentionCase& c, uint64_t seed) {
  Tensor mask = Tensor::empty({c.B, c.Tk}, DType::I32);
  const uint64_t key = rng::stream_key(seed, 0x3a5c, 0);
  for (int64_t b = 0; b < c.B; ++b) {
    for (int64_t j = 0; j < c.Tk; ++j) {
      const bool hidden = (c.B >= 3 && b == c.B - 1) ||
                          rng::uniform01(key, static_cast<uint64_t>(b * c.Tk + j)) < 0.25f;
      mask.data<int32_t>()[b * c.Tk + j] = hidden ? 0 : 1;
    }
  }
  return mask;
}

// The inputs of one case: q, k, v, dout and the mask, on both sides.
struct Inputs {
  Operand q, k, v, dout, key_valid;
  double scale;
};

Inputs inputs_for(const AttentionCase& c, DType dtype, Seeds& seeds) {
  Inputs in;
  in.q = random_operand({c.B, c.Tq, c.H, c.Dh}, dtype, seeds.next(), -2.0, 2.0);
  in.k = random_operand({c.B, c.Tk, c.H, c.Dh}, dtype, seeds.next(), -2.0, 2.0);
  in.v = random_operand({c.B, c.Tk, c.H, c.Dh}, dtype, seeds.next());
  in.dout = random_operand({c.B, c.Tq, c.H, c.Dh}, dtype, seeds.next());
  if (c.padded) in.key_valid = ids_operand(key_valid_mask(c, seeds.next()));
  in.scale = 1.0 / std::sqrt(static_cast<double>(c.Dh));
  return in;
}

Tensor ref_zeros(const Shape& shape) { return Tensor::zeros(shape, DType::F64); }

class AttentionGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(AttentionGpu);

TEST_P(AttentionGpu, ProbabilitiesFormForward) {
  Seeds seeds;
  for (const AttentionCase& c : cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, dtype(), seeds);
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
  for (const AttentionCase& c : cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, dtype(), seeds);
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

class FlashAttentionGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(FlashAttentionGpu);

TEST_P(FlashAttentionGpu, Forward) {
  Seeds seeds;
  for (const AttentionCase& c : cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, dtype(), seeds);
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
  for (const AttentionCase& c : cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, dtype(), seeds);
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
