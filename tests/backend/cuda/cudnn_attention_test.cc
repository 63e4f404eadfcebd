// cuDNN's fused attention (cudnn_attention.h) against the SIMT flash kernels
// (flash_attention_simt.h), both in bf16, within the bf16 budget: forward
// (out, lse) and backward (dq, dk, dv, fed the same out and lse), causal and
// padded, at GPT-2 124M's shape and at head dim 128; the backward's
// determinism; and the calls cuDNN must decline. The SIMT kernels are held
// to the CPU by flash_attention_test.cc. Skipped visibly without a GPU or in
// a build without cuDNN.

#include "backend/cuda/cudnn_attention.h"

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "attention_gpu_testing.h"
#include "backend/cuda/flash_attention_simt.h"
#include "weft/backend/flash_attention.h"

namespace weft::testing {
namespace {

class CudnnAttentionGpu : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    if (!cuda::cudnn_attention_built()) {
      GTEST_SKIP() << "this build has no cuDNN attention (configured with WEFT_CUDNN off, or "
                      "cuDNN or cudnn-frontend not found)";
    }
  }
};

struct CudnnCase {
  int64_t B, Tq, Tk, H, Dh;
  bool causal, padded;
  // A mask cuDNN may not fuse on every version (a causal band offset from the
  // diagonal): declining it is reported, not failed.
  bool may_decline = false;
};

std::string case_str(const CudnnCase& c) {
  return detail::concat("B ", c.B, ", Tq ", c.Tq, ", Tk ", c.Tk, ", H ", c.H, ", Dh ", c.Dh,
                        c.causal ? ", causal" : "", c.padded ? ", padded" : "");
}

const std::vector<CudnnCase>& cudnn_cases() {
  static const std::vector<CudnnCase> all = {
      {2, 1024, 1024, 12, 64, true, false},  // GPT-2 124M
      {2, 1024, 1024, 12, 64, true, true},
      {2, 1024, 1024, 12, 64, false, true},  // an encoder over padded sequences
      {2, 1024, 1024, 8, 128, true, false},  // head dim 128 (LLaMA-style)
      {2, 1024, 1024, 8, 128, true, true},
      {2, 256, 1024, 4, 64, true, false},       // queries at the end of a cache: bottom-right
      {2, 256, 1024, 4, 64, true, true, true},  // with padding: top-left, offset Tk − Tq
  };
  return all;
}

// (B,Tk) i32, each row ones then zeros: row b keeps Tk − b·(Tk/3) − 7b keys.
Tensor prefix_mask(int64_t B, int64_t Tk) {
  Tensor mask = Tensor::empty({B, Tk}, DType::I32);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = Tk - b * (Tk / 3) - 7 * b;
    for (int64_t j = 0; j < Tk; ++j) mask.data<int32_t>()[b * Tk + j] = j < length ? 1 : 0;
  }
  return mask;
}

struct Inputs {
  Tensor q, k, v, dout, key_valid;
  double scale;
};

Inputs inputs_for(const CudnnCase& c, Seeds& seeds) {
  Inputs in;
  in.q = random_operand({c.B, c.Tq, c.H, c.Dh}, DType::BF16, seeds.next(), -2.0, 2.0).gpu;
  in.k = random_operand({c.B, c.Tk, c.H, c.Dh}, DType::BF16, seeds.next(), -2.0, 2.0).gpu;
  in.v = random_operand({c.B, c.Tk, c.H, c.Dh}, DType::BF16, seeds.next()).gpu;
  in.dout = random_operand({c.B, c.Tq, c.H, c.Dh}, DType::BF16, seeds.next()).gpu;
  if (c.padded) in.key_valid = prefix_mask(c.B, c.Tk).to(Device::CUDA);
  in.scale = 1.0 / std::sqrt(static_cast<double>(c.Dh));
  return in;
}

struct Forward {
  Tensor lse, out;
};

Forward poisoned_forward(const CudnnCase& c, const Inputs& in) {
  return {poisoned({c.B, c.H, c.Tq}, DType::F32), poisoned(in.q.shape(), DType::BF16)};
}

Forward simt_forward(const CudnnCase& c, const Inputs& in) {
  Forward f = poisoned_forward(c, in);
  cuda::simt_flash_attention_forward(in.q, in.k, in.v, in.key_valid, c.causal, in.scale, f.lse,
                                     f.out);
  return f;
}

struct Grads {
  Tensor dq, dk, dv;
};

Grads poisoned_grads(const Inputs& in) {
  return {poisoned(in.q.shape(), DType::BF16), poisoned(in.k.shape(), DType::BF16),
          poisoned(in.v.shape(), DType::BF16)};
}

// cuDNN's forward into fresh outputs; whether it ran, and why not.
bool try_cudnn_forward(const CudnnCase& c, const Inputs& in, Forward& f, std::string& why) {
  f = poisoned_forward(c, in);
  return cuda::cudnn_flash_attention_forward(in.q, in.k, in.v, in.key_valid, c.causal, in.scale,
                                             f.lse, f.out, &why);
}

// Whether cuDNN ran: a decline fails the test unless the case allows it,
// and is printed either way.
bool ran(const CudnnCase& c, bool took, const char* pass, const std::string& why) {
  if (took) return true;
  if (c.may_decline) {
    std::cout << "cuDNN declined the " << pass << " of " << case_str(c) << ": " << why << "\n";
  } else {
    ADD_FAILURE() << "cuDNN declined the " << pass << ": " << why;
  }
  return false;
}

// cuDNN's backward into fresh gradients; false where it declined.
bool cudnn_backward(const CudnnCase& c, const Inputs& in, const Forward& f, Grads& g) {
  g = poisoned_grads(in);
  std::string why;
  return ran(
      c,
      cuda::cudnn_flash_attention_backward(in.q, in.k, in.v, in.key_valid, c.causal, in.scale,
                                           f.out, f.lse, in.dout, g.dq, g.dk, g.dv, &why),
      "backward", why);
}

TEST_F(CudnnAttentionGpu, ForwardMatchesSimt) {
  Seeds seeds;
  const double budget = gpu_budget(DType::BF16);
  for (const CudnnCase& c : cudnn_cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, seeds);
    const Forward ref = simt_forward(c, in);
    Forward got;
    std::string why;
    if (!ran(c, try_cudnn_forward(c, in, got, why), "forward", why)) continue;
    EXPECT_TRUE(close_to_cpu("cudnn forward", "out", got.out, host_f64(ref.out), budget));
    EXPECT_TRUE(close_to_cpu("cudnn forward", "lse", got.lse, host_f64(ref.lse), budget));
  }
}

TEST_F(CudnnAttentionGpu, BackwardMatchesSimt) {
  Seeds seeds;
  const double budget = gpu_budget(DType::BF16);
  for (const CudnnCase& c : cudnn_cases()) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, seeds);
    const Forward f = simt_forward(c, in);
    Grads ref = poisoned_grads(in);
    cuda::simt_flash_attention_backward(in.q, in.k, in.v, in.key_valid, c.causal, in.scale, f.out,
                                        f.lse, in.dout, ref.dq, ref.dk, ref.dv);
    Grads got;
    if (!cudnn_backward(c, in, f, got)) continue;
    EXPECT_TRUE(close_to_cpu("cudnn backward", "dq", got.dq, host_f64(ref.dq), budget));
    EXPECT_TRUE(close_to_cpu("cudnn backward", "dk", got.dk, host_f64(ref.dk), budget));
    EXPECT_TRUE(close_to_cpu("cudnn backward", "dv", got.dv, host_f64(ref.dv), budget));
  }
}

// The deterministic algorithm: two backward runs on the same inputs give the
// same bits (cuDNN's default dq accumulates with atomics and would not).
TEST_F(CudnnAttentionGpu, BackwardIsDeterministic) {
  Seeds seeds;
  for (const CudnnCase& c : {cudnn_cases()[0], cudnn_cases()[4]}) {
    SCOPED_TRACE(case_str(c));
    const Inputs in = inputs_for(c, seeds);
    const Forward f = simt_forward(c, in);
    Grads first, second;
    if (!cudnn_backward(c, in, f, first) || !cudnn_backward(c, in, f, second)) continue;
    EXPECT_TRUE(same_bits("cudnn backward", "dq", first.dq, second.dq));
    EXPECT_TRUE(same_bits("cudnn backward", "dk", first.dk, second.dk));
    EXPECT_TRUE(same_bits("cudnn backward", "dv", first.dv, second.dv));
  }
}

// What cuDNN must leave to the SIMT kernels, each with a reason; the entry
// points then give the SIMT result (flash_attention_test.cc).
TEST_F(CudnnAttentionGpu, DeclinesWhatItCannotExpress) {
  Seeds seeds;
  struct Declined {
    const char* what;
    CudnnCase c;
    DType dtype;
    bool holes;
  };
  const std::vector<Declined> declined = {
      {"f32", {2, 64, 64, 2, 64, true, false}, DType::F32, false},
      {"head dim not a multiple of 8", {2, 64, 64, 2, 20, true, false}, DType::BF16, false},
      {"causal with Tq > Tk", {2, 64, 32, 2, 64, true, false}, DType::BF16, false},
      {"a decode step", {2, 1, 64, 2, 64, true, false}, DType::BF16, false},
      {"a mask with holes", {2, 64, 64, 2, 64, false, true}, DType::BF16, true},
  };
  for (const Declined& d : declined) {
    SCOPED_TRACE(d.what);
    const CudnnCase& c = d.c;
    const Tensor q = random_operand({c.B, c.Tq, c.H, c.Dh}, d.dtype, seeds.next()).gpu;
    const Tensor k = random_operand({c.B, c.Tk, c.H, c.Dh}, d.dtype, seeds.next()).gpu;
    const Tensor v = random_operand({c.B, c.Tk, c.H, c.Dh}, d.dtype, seeds.next()).gpu;
    Tensor key_valid;
    if (c.padded) {
      const AttentionCase holes{c.B, c.Tq, c.Tk, c.H, c.Dh, c.causal, true};
      key_valid = key_valid_mask(holes, seeds.next()).to(Device::CUDA);
    }
    Tensor lse = poisoned({c.B, c.H, c.Tq}, DType::F32), out = poisoned(q.shape(), d.dtype);
    std::string why;
    EXPECT_FALSE(
        cuda::cudnn_flash_attention_forward(q, k, v, key_valid, c.causal, 0.125, lse, out, &why));
    EXPECT_FALSE(why.empty());
  }
}

// A mask the host described (ops::describe_key_mask) is taken at its word:
// described as lengths, cuDNN gives the bits it gives the mask read back;
// the same mask described as not lengths, cuDNN declines it unread.
TEST_F(CudnnAttentionGpu, TakesADescribedMaskAtItsWord) {
  Seeds seeds;
  const CudnnCase c{2, 256, 256, 4, 64, false, true};
  const Inputs in = inputs_for(c, seeds);
  std::string why;
  Forward read_back, told, declined;
  ASSERT_TRUE(try_cudnn_forward(c, in, read_back, why)) << why;

  ops::describe_key_mask(in.key_valid, /*lengths=*/true);
  ASSERT_TRUE(try_cudnn_forward(c, in, told, why)) << why;
  EXPECT_TRUE(same_bits("described mask", "out", told.out, read_back.out));
  EXPECT_TRUE(same_bits("described mask", "lse", told.lse, read_back.lse));

  ops::describe_key_mask(in.key_valid, /*lengths=*/false);
  EXPECT_FALSE(try_cudnn_forward(c, in, declined, why));
  EXPECT_NE(why.find("not ones then zeros"), std::string::npos) << why;
}

}  // namespace
}  // namespace weft::testing
