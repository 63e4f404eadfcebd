// flash_attention_forward/backward against the probabilities form
// (attention_forward/backward), which attention_test.cc holds to a naive
// reference and finite differences: causal on and off, Tq ≠ Tk with the
// causal offset, key padding, rows that see no key; lse against the
// log-sum-exp of the same scores in double.

#include "weft/backend/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention_testing.h"
#include "weft/backend/attention.h"

namespace weft::testing {
namespace {

using Problem = AttentionProblem;
using Inputs = AttentionInputs;

const Problem kProblems[] = {
    {3, 5, 5, 3, 7, false, {}},
    {3, 5, 5, 3, 7, true, {}},
    {2, 3, 7, 3, 5, true, {}},                        // one query per step of a cache
    {2, 5, 3, 1, 3, true, {}},                        // Tq > Tk: the first rows see nothing
    {3, 5, 7, 3, 5, false, padded(3, 7, {7, 4, 0})},  // batch 2 is all padding
    {2, 6, 4, 2, 4, true, padded(2, 4, {3, 1})},      // padding and the causal offset
    {1, 70, 70, 2, 16, true, {}},
    {2, 67, 131, 1, 8, true, padded(2, 131, {131, 90})},
    {1, 33, 17, 2, 32, false, padded(1, 17, {12})},
};

// Results in f64 within ~1e-12 of each other; in f32 within float rounding.
// The probabilities form rounds the probabilities to the inputs' dtype: in
// bf16 the two forms agree to bf16's budget only.
Tolerance agreement(DType dtype) {
  if (dtype == DType::BF16) return tolerance_for(DType::BF16);
  return dtype == DType::F64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-5};
}

// lse (B,H,Tq) in double: log Σ exp(scale · q·k) over the keys each query sees.
std::vector<double> reference_lse(const Problem& p, const Inputs& in) {
  const std::vector<double> q = in.q.to_double_vector(), k = in.k.to_double_vector();
  std::vector<double> lse(p.B * p.H * p.Tq, -std::numeric_limits<double>::infinity());
  for (int64_t b = 0; b < p.B; ++b) {
    for (int64_t h = 0; h < p.H; ++h) {
      for (int64_t i = 0; i < p.Tq; ++i) {
        const std::vector<double> s = scores_of(p, q, k, b, h, i);
        const double mx = *std::max_element(s.begin(), s.end());
        if (std::isinf(mx)) continue;  // sees no key: lse stays −inf
        double sum = 0.0;
        for (double x : s) sum += std::exp(x - mx);
        lse[(b * p.H + h) * p.Tq + i] = mx + std::log(sum);
      }
    }
  }
  return lse;
}

struct Flash {
  Tensor lse, out, dq, dk, dv;
};

Flash run_flash(const Problem& p, const Inputs& in) {
  const DType dt = in.q.dtype();
  Flash f{Tensor::empty({p.B, p.H, p.Tq}, DType::F32), Tensor::empty(in.q.shape(), dt),
          Tensor::empty(in.q.shape(), dt), Tensor::empty(in.k.shape(), dt),
          Tensor::empty(in.v.shape(), dt)};
  ops::fill(f.out, std::nan(""));  // every output is written, not accumulated
  ops::fill(f.dq, std::nan(""));
  ops::fill(f.dk, std::nan(""));
  ops::fill(f.dv, std::nan(""));
  ops::flash_attention_forward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), f.lse, f.out);
  ops::flash_attention_backward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), f.out, f.lse,
                                in.dout, f.dq, f.dk, f.dv);
  return f;
}

class FlashAttention : public FloatingTest {};

TEST_P(FlashAttention, MatchesProbabilitiesForm) {
  const DType dt = GetParam();
  const Tolerance tol = agreement(dt);
  for (const Problem& p : kProblems) {
    SCOPED_TRACE(::testing::Message()
                 << "B " << p.B << " Tq " << p.Tq << " Tk " << p.Tk << " Dh " << p.Dh << " causal "
                 << p.causal << " padded " << !p.valid.empty());
    const Inputs in = make_attention_inputs(p, dt, 17);
    const Flash f = run_flash(p, in);

    Tensor probs = Tensor::empty({p.B, p.H, p.Tq, p.Tk}, dt), out = zeros_like(in.q);
    ops::attention_forward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), probs, out);
    Tensor dprobs = zeros_like(probs), dq = zeros_like(in.q), dk = zeros_like(in.k),
           dv = zeros_like(in.v);
    ops::attention_backward(in.q, in.k, in.v, probs, in.dout, p.scale(), dprobs, dq, dk, dv);

    EXPECT_TRUE(all_close(f.out, out, tol.rel, tol.abs));
    EXPECT_TRUE(all_close(f.dq, dq, tol.rel, tol.abs));
    EXPECT_TRUE(all_close(f.dk, dk, tol.rel, tol.abs));
    EXPECT_TRUE(all_close(f.dv, dv, tol.rel, tol.abs));
    // lse is stored in f32 whatever the inputs' precision.
    const Tolerance f32 = agreement(DType::F32);
    EXPECT_TRUE(
        all_close(f.lse, from_doubles(reference_lse(p, in), f.lse.shape()), f32.rel, f32.abs));
  }
}

WEFT_FLOATING_SUITE(FlashAttention);

TEST(FlashAttentionMasks, RowThatSeesNoKeyIsZero) {
  // causal with Tq = 5 > Tk = 3: query i sees keys j <= i − 2, so rows 0, 1 see none;
  // batch 1 is all padding, so all its rows see none.
  const Problem p{2, 5, 3, 3, 5, true, padded(2, 3, {3, 0})};
  const Inputs in = make_attention_inputs(p, DType::F64, 31);
  const Flash f = run_flash(p, in);
  const std::vector<double> lse = f.lse.to_double_vector(), out = f.out.to_double_vector(),
                            dq = f.dq.to_double_vector();
  for (int64_t h = 0; h < p.H; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      EXPECT_EQ(lse[h * p.Tq + i], -std::numeric_limits<double>::infinity());
      for (int64_t c = 0; c < p.Dh; ++c) {
        EXPECT_EQ(out[(i * p.H + h) * p.Dh + c], 0.0);
        EXPECT_EQ(dq[(i * p.H + h) * p.Dh + c], 0.0);
      }
    }
    for (int64_t i = 0; i < p.Tq; ++i) {
      EXPECT_EQ(lse[(p.H + h) * p.Tq + i], -std::numeric_limits<double>::infinity());
    }
  }
  const int64_t batch = p.Tq * p.H * p.Dh, key_batch = p.Tk * p.H * p.Dh;
  const std::vector<double> dk = f.dk.to_double_vector(), dv = f.dv.to_double_vector();
  for (int64_t e = batch; e < 2 * batch; ++e) {
    EXPECT_EQ(out[e], 0.0);
    EXPECT_EQ(dq[e], 0.0);
  }
  for (int64_t e = key_batch; e < 2 * key_batch; ++e) {
    EXPECT_EQ(dk[e], 0.0);
    EXPECT_EQ(dv[e], 0.0);
  }
}

// A key mask's description (what the GPU's fused attention may take on the
// host's word) must name a (B,Tk) i32 mask; on the CPU it changes nothing.
TEST(FlashAttentionChecks, DescribesOnlyKeyMasks) {
  const Tensor mask = Tensor::zeros({2, 5}, DType::I32);
  EXPECT_NO_THROW(ops::describe_key_mask(mask, true));
  EXPECT_NO_THROW(ops::describe_key_mask(mask, false));
  EXPECT_THROW(ops::describe_key_mask(Tensor(), true), Error);
  EXPECT_THROW(ops::describe_key_mask(Tensor::zeros({2, 5}), true), Error);
  EXPECT_THROW(ops::describe_key_mask(Tensor::zeros({10}, DType::I32), true), Error);
}

TEST(FlashAttentionChecks, RefusesMismatchedArguments) {
  const Problem p{2, 3, 5, 2, 4, false, {}};
  const Inputs in = make_attention_inputs(p, DType::F32, 61);
  Tensor lse = Tensor::empty({2, 2, 3}), out = Tensor::empty(in.q.shape());
  Tensor lse_t = Tensor::empty({2, 3, 2}), lse64 = Tensor::empty({2, 2, 3}, DType::F64);
  Tensor flat_out = Tensor::empty({2, 3, 8});
  const Tensor float_valid = Tensor::zeros({2, 5});
  const Tensor short_valid = Tensor::zeros({2, 4}, DType::I32);
  const Tensor k64 = cast(in.k, DType::F64), k_wrong = Tensor::zeros({2, 5, 2, 3});
  const double s = p.scale();
  const Tensor none;
  EXPECT_NO_THROW(ops::flash_attention_forward(in.q, in.k, in.v, none, false, s, lse, out));
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, in.v, none, false, s, lse_t, out), Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, in.v, none, false, s, lse64, out), Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, in.v, none, false, s, lse, flat_out),
               Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, k64, in.v, none, false, s, lse, out), Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, k_wrong, in.v, none, false, s, lse, out), Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, k_wrong, none, false, s, lse, out), Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, in.v, float_valid, false, s, lse, out),
               Error);
  EXPECT_THROW(ops::flash_attention_forward(in.q, in.k, in.v, short_valid, false, s, lse, out),
               Error);

  Tensor dq = zeros_like(in.q), dk = zeros_like(in.k), dv = zeros_like(in.v);
  Tensor dv_wrong = Tensor::zeros({2, 3, 2, 4}), dq64 = cast(dq, DType::F64);
  const Tensor& dout = out;
  EXPECT_NO_THROW(
      ops::flash_attention_backward(in.q, in.k, in.v, none, false, s, out, lse, dout, dq, dk, dv));
  EXPECT_THROW(ops::flash_attention_backward(in.q, in.k, in.v, none, false, s, out, lse, dout, dq,
                                             dk, dv_wrong),
               Error);
  EXPECT_THROW(
      ops::flash_attention_backward(in.q, in.k, in.v, none, false, s, out, lse, dout, dq64, dk, dv),
      Error);
  EXPECT_THROW(
      ops::flash_attention_backward(in.q, in.k, in.v, none, false, s, out, lse_t, dout, dq, dk, dv),
      Error);
  EXPECT_THROW(ops::flash_attention_backward(in.q, in.k, in.v, none, false, s, flat_out, lse, dout,
                                             dq, dk, dv),
               Error);
  EXPECT_THROW(ops::flash_attention_backward(in.q, in.k, in.v, short_valid, false, s, out, lse,
                                             dout, dq, dk, dv),
               Error);
}

}  // namespace
}  // namespace weft::testing
