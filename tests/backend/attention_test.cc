// attention_forward/backward against a naive double reference: causal on and
// off, Tq ≠ Tk with the causal offset, key padding, fully masked rows, query
// blocks (T > 64), and gradients against finite differences.

#include "weft/backend/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention_testing.h"

namespace weft::testing {
namespace {

using Problem = AttentionProblem;
using Inputs = AttentionInputs;

// probs (B,H,Tq,Tk) and out (B,Tq,H,Dh), straight from the definition.
void reference(const Problem& p, const Inputs& in, std::vector<double>& probs,
               std::vector<double>& out) {
  const std::vector<double> q = in.q.to_double_vector(), k = in.k.to_double_vector(),
                            v = in.v.to_double_vector();
  probs.assign(p.B * p.H * p.Tq * p.Tk, 0.0);
  out.assign(p.B * p.Tq * p.H * p.Dh, 0.0);
  for (int64_t b = 0; b < p.B; ++b) {
    for (int64_t h = 0; h < p.H; ++h) {
      for (int64_t i = 0; i < p.Tq; ++i) {
        std::vector<double> s = scores_of(p, q, k, b, h, i);
        const double mx = *std::max_element(s.begin(), s.end());
        if (std::isinf(mx)) continue;  // sees no key: stays 0
        double sum = 0.0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j < p.Tk; ++j) {
          const double pr = s[j] / sum;
          probs[((b * p.H + h) * p.Tq + i) * p.Tk + j] = pr;
          for (int64_t c = 0; c < p.Dh; ++c) {
            out[p.at(b, i, h, p.Tq) + c] += pr * v[p.at(b, j, h, p.Tk) + c];
          }
        }
      }
    }
  }
}

struct Outputs {
  Tensor probs, out;
};

Outputs run_forward(const Problem& p, const Inputs& in) {
  const DType dt = in.q.dtype();
  Outputs o{Tensor::empty({p.B, p.H, p.Tq, p.Tk}, dt), Tensor::empty(in.q.shape(), dt)};
  ops::attention_forward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), o.probs, o.out);
  return o;
}

const Problem kProblems[] = {
    {3, 5, 5, 3, 7, false, {}},
    {3, 5, 5, 3, 7, true, {}},
    {2, 3, 7, 3, 5, true, {}},                        // one query per step of a cache
    {2, 5, 3, 1, 3, true, {}},                        // Tq > Tk: the first rows see nothing
    {3, 5, 7, 3, 5, false, padded(3, 7, {7, 4, 0})},  // batch 2 is all padding
    {1, 70, 70, 2, 5, true, {}},                      // two query blocks
    {2, 67, 131, 1, 3, true, padded(2, 131, {131, 90})},
};

class AttentionForward : public FloatingTest {};

TEST_P(AttentionForward, MatchesReference) {
  for (const Problem& p : kProblems) {
    SCOPED_TRACE(::testing::Message() << "B " << p.B << " Tq " << p.Tq << " Tk " << p.Tk
                                      << " causal " << p.causal << " padded " << !p.valid.empty());
    const Inputs in = make_attention_inputs(p, GetParam(), 7);
    const Outputs o = run_forward(p, in);
    std::vector<double> probs, out;
    reference(p, in, probs, out);
    EXPECT_TRUE(matches_reference(o.probs, probs));
    EXPECT_TRUE(matches_reference(o.out, out));
  }
}

WEFT_FLOATING_SUITE(AttentionForward);

TEST(AttentionMasks, PaddedKeysChangeNothing) {
  const Problem p{3, 5, 7, 3, 5, true, padded(3, 7, {7, 4, 2})};
  Inputs in = make_attention_inputs(p, DType::F32, 21);
  const Outputs before = run_forward(p, in);
  // Overwrite every padded key and value of batch 1 (keys 4..6) with large values.
  for (int64_t j = 4; j < 7; ++j) {
    for (int64_t c = 0; c < p.H * p.Dh; ++c) {
      in.k.data<float>()[(1 * p.Tk + j) * p.H * p.Dh + c] = 100.0f + c;
      in.v.data<float>()[(1 * p.Tk + j) * p.H * p.Dh + c] = -50.0f;
    }
  }
  const Outputs after = run_forward(p, in);
  EXPECT_TRUE(all_close(after.out, before.out, 0.0, 0.0));
  EXPECT_TRUE(all_close(after.probs, before.probs, 0.0, 0.0));
}

TEST(AttentionMasks, RowThatSeesNoKeyIsZero) {
  // causal with Tq = 5 > Tk = 3: query i sees keys j <= i − 2, so rows 0, 1 see none;
  // batch 1 is all padding, so all its rows see none.
  const Problem p{2, 5, 3, 3, 5, true, padded(2, 3, {3, 0})};
  const Inputs in = make_attention_inputs(p, DType::F64, 31);
  const Outputs o = run_forward(p, in);
  const std::vector<double> probs = o.probs.to_double_vector(), out = o.out.to_double_vector();
  for (int64_t h = 0; h < p.H; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < p.Tk; ++j) EXPECT_EQ(probs[(h * p.Tq + i) * p.Tk + j], 0.0);
      for (int64_t c = 0; c < p.Dh; ++c) EXPECT_EQ(out[(i * p.H + h) * p.Dh + c], 0.0);
    }
  }
  for (int64_t e = p.Tq * p.H * p.Dh; e < 2 * p.Tq * p.H * p.Dh; ++e) EXPECT_EQ(out[e], 0.0);
  // Row 2 sees exactly key 0: probability 1.
  EXPECT_DOUBLE_EQ(probs[2 * p.Tk], 1.0);
}

// Gradients of loss = Σ out·w with respect to q, k and v.
TEST(AttentionBackward, MatchesFiniteDifferences) {
  for (const Problem& p : kProblems) {
    if (p.Tq * p.Tk > 2000) continue;  // the blocked case below keeps this fast
    SCOPED_TRACE(::testing::Message() << "B " << p.B << " Tq " << p.Tq << " Tk " << p.Tk
                                      << " causal " << p.causal << " padded " << !p.valid.empty());
    Inputs in = make_attention_inputs(p, DType::F64, 41);
    const Tensor w = random_tensor(in.q.shape(), DType::F64, 44);
    Outputs o = run_forward(p, in);
    Tensor dprobs = zeros_like(o.probs);
    Tensor dq = zeros_like(in.q), dk = zeros_like(in.k), dv = zeros_like(in.v);
    ops::fill(dq, std::nan(""));  // written, not accumulated
    ops::fill(dk, std::nan(""));
    ops::fill(dv, std::nan(""));
    ops::attention_backward(in.q, in.k, in.v, o.probs, w, p.scale(), dprobs, dq, dk, dv);
    auto loss = [&] {
      ops::attention_forward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), o.probs, o.out);
      return dot(o.out, w);
    };
    EXPECT_TRUE(matches_numeric_gradient(dq, loss, in.q));
    EXPECT_TRUE(matches_numeric_gradient(dk, loss, in.k));
    EXPECT_TRUE(matches_numeric_gradient(dv, loss, in.v));
  }
}

TEST(AttentionBackward, QueryBlocksMatchFiniteDifferences) {
  const Problem p{1, 67, 69, 1, 3, true, padded(1, 69, {60})};
  Inputs in = make_attention_inputs(p, DType::F64, 51);
  const Tensor w = random_tensor(in.q.shape(), DType::F64, 52);
  Outputs o = run_forward(p, in);
  Tensor dprobs = zeros_like(o.probs);
  Tensor dq = zeros_like(in.q), dk = zeros_like(in.k), dv = zeros_like(in.v);
  ops::attention_backward(in.q, in.k, in.v, o.probs, w, p.scale(), dprobs, dq, dk, dv);
  auto loss = [&] {
    ops::attention_forward(in.q, in.k, in.v, in.key_valid, p.causal, p.scale(), o.probs, o.out);
    return dot(o.out, w);
  };
  EXPECT_TRUE(matches_numeric_gradient(dq, loss, in.q));
  EXPECT_TRUE(matches_numeric_gradient(dk, loss, in.k));
  EXPECT_TRUE(matches_numeric_gradient(dv, loss, in.v));
}

TEST(AttentionChecks, RefusesMismatchedArguments) {
  const Problem p{2, 3, 5, 2, 4, false, {}};
  const Inputs in = make_attention_inputs(p, DType::F32, 61);
  Tensor probs = Tensor::empty({2, 2, 3, 5}), out = Tensor::empty(in.q.shape());
  Tensor bad_probs = Tensor::empty({2, 2, 5, 3}), flat_out = Tensor::empty({2, 3, 8});
  const Tensor float_valid = Tensor::zeros({2, 5});
  const Tensor short_valid = Tensor::zeros({2, 4}, DType::I32);
  const Tensor k64 = cast(in.k, DType::F64), k_wrong = Tensor::zeros({2, 5, 2, 3});
  const double s = p.scale();
  EXPECT_NO_THROW(ops::attention_forward(in.q, in.k, in.v, Tensor(), false, s, probs, out));
  EXPECT_THROW(ops::attention_forward(in.q, in.k, in.v, Tensor(), false, s, bad_probs, out), Error);
  EXPECT_THROW(ops::attention_forward(in.q, in.k, in.v, Tensor(), false, s, probs, flat_out),
               Error);
  EXPECT_THROW(ops::attention_forward(in.q, k64, in.v, Tensor(), false, s, probs, out), Error);
  EXPECT_THROW(ops::attention_forward(in.q, k_wrong, in.v, Tensor(), false, s, probs, out), Error);
  EXPECT_THROW(ops::attention_forward(in.q, in.k, in.v, float_valid, false, s, probs, out), Error);
  EXPECT_THROW(ops::attention_forward(in.q, in.k, in.v, short_valid, false, s, probs, out), Error);
  Tensor dprobs = zeros_like(probs), dq = zeros_like(in.q), dk = zeros_like(in.k);
  Tensor dv = zeros_like(in.v), dv_wrong = Tensor::zeros({2, 3, 2, 4});
  EXPECT_NO_THROW(ops::attention_backward(in.q, in.k, in.v, probs, out, s, dprobs, dq, dk, dv));
  EXPECT_THROW(ops::attention_backward(in.q, in.k, in.v, probs, out, s, dprobs, dq, dk, dv_wrong),
               Error);
  EXPECT_THROW(ops::attention_backward(in.q, in.k, in.v, probs, out, s, bad_probs, dq, dk, dv),
               Error);
}

}  // namespace
}  // namespace weft::testing
