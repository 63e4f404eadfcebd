// bf16 GEMMs on the CPU: oneDNN's matmul (or the widened sgemm path on a
// processor without bf16 instructions) against a double product of the same
// bf16 values. With an f32 c the f32 accumulation is kept, so the budget is
// f32's; a bf16 c adds one rounding (the bf16 budget, 1e-2).

#include <cmath>
#include <limits>

#include "backend/cpu/onednn_matmul.h"
#include "ops_testing.h"
#include "weft/backend/gemm.h"

namespace weft::testing {
namespace {

// c (m,n) = alpha·op(a)·op(b) + beta·c over the operands' exact values.
std::vector<double> reference_gemm(const Tensor& a_t, bool ta, const Tensor& b_t, bool tb,
                                   const Tensor& c_t, double alpha, double beta) {
  const std::vector<double> a = a_t.to_double_vector(), b = b_t.to_double_vector();
  std::vector<double> c = c_t.to_double_vector();
  const int64_t n = c_t.dim(-1), m = c_t.numel() / n;
  const int64_t k = ta ? a_t.numel() / a_t.dim(-1) : a_t.dim(-1);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] = alpha * s + beta * c[i * n + j];
    }
  }
  return c;
}

// Odd sizes (no multiple of a vector width): m = 37 as (1,37), n = 29, k = 53.
struct Operands {
  Tensor a, b;
};
Operands operands(bool ta, bool tb, uint64_t seed) {
  return {random_tensor(ta ? Shape{53, 37} : Shape{1, 37, 53}, DType::BF16, seed),
          random_tensor(tb ? Shape{29, 53} : Shape{53, 29}, DType::BF16, seed + 1)};
}

class Bf16Gemm : public ::testing::TestWithParam<DType> {};  // c's dtype

TEST_P(Bf16Gemm, AllTransposesWithAlphaBetaMatchTheDoubleProduct) {
  const DType c_dtype = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a " << ta << ", trans_b " << tb);
      const Operands x = operands(ta, tb, 10);
      for (const auto& [alpha, beta] : {std::pair{1.0, 0.0}, std::pair{0.7, 0.3},
                                        std::pair{1.0, 1.0}}) {
        Tensor c = random_tensor({37, 29}, c_dtype, 3);
        const std::vector<double> expected = reference_gemm(x.a, ta, x.b, tb, c, alpha, beta);
        ops::gemm(x.a, ta, x.b, tb, c, alpha, beta);
        EXPECT_TRUE(matches_reference(c, expected)) << "alpha " << alpha << ", beta " << beta;
      }
    }
  }
}

// Both paths compute the f32 accumulation of the same products; only the
// order of the sums may differ.
TEST_P(Bf16Gemm, TheWidenedPathAgreesWithTheNativeOne) {
  const DType c_dtype = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Operands x = operands(ta, tb, 20);
      Tensor native = random_tensor({37, 29}, c_dtype, 5);
      Tensor widened = native.clone();
      cpu::bf16_gemm(x.a, ta, x.b, tb, native, 0.5, 1.0);
      cpu::bf16_gemm_widened(x.a, ta, x.b, tb, widened, 0.5, 1.0);
      // bf16 c: the two f32 sums may round to neighbouring bf16 values.
      const Tolerance tol = tolerance_for(c_dtype);
      EXPECT_TRUE(all_close(native, widened, tol.rel, tol.abs))
          << "trans_a " << ta << ", trans_b " << tb << "; " << cpu::bf16_gemm_path();
    }
  }
}

TEST_P(Bf16Gemm, OneRowAndAnEmptyReduction) {
  const DType c_dtype = GetParam();
  const Tensor a = random_tensor({1, 13}, DType::BF16, 30);
  const Tensor b = random_tensor({9, 13}, DType::BF16, 31);
  Tensor c = random_tensor({1, 9}, c_dtype, 32);
  std::vector<double> expected = reference_gemm(a, false, b, true, c, 1.0, 0.5);
  ops::gemm(a, false, b, true, c, 1.0, 0.5);
  EXPECT_TRUE(matches_reference(c, expected));

  // k = 0 (a transposed (0,4): an empty sum): c = beta·c.
  const Tensor a0 = Tensor::zeros({0, 4}, DType::BF16), b0 = Tensor::zeros({0, 3}, DType::BF16);
  Tensor c0 = random_tensor({4, 3}, c_dtype, 33);
  expected = reference_gemm(a0, true, b0, false, c0, 1.0, 0.5);
  ops::gemm(a0, true, b0, false, c0, 1.0, 0.5);
  EXPECT_TRUE(matches_reference(c0, expected));
}

TEST_P(Bf16Gemm, ANaNInAnOperandReachesTheResult) {
  const DType c_dtype = GetParam();
  Tensor a = random_tensor({6, 8}, DType::F32, 40);
  a.data<float>()[3 * 8 + 2] = std::numeric_limits<float>::quiet_NaN();  // row 3
  const Tensor a16 = cast(a, DType::BF16), b = random_tensor({8, 5}, DType::BF16, 41);
  Tensor c = Tensor::zeros({6, 5}, c_dtype);
  ops::gemm(a16, false, b, false, c);
  const std::vector<double> out = c.to_double_vector();
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_TRUE(std::isnan(out[3 * 5 + j])) << "column " << j;
    EXPECT_FALSE(std::isnan(out[2 * 5 + j])) << "column " << j;
  }
}

INSTANTIATE_TEST_SUITE_P(OutputDtypes, Bf16Gemm, ::testing::Values(DType::F32, DType::BF16),
                         dtype_param_name);

TEST(Bf16GemmChecks, OnlyBf16OperandsMayWriteAnF32Result) {
  const Tensor a16 = Tensor::zeros({4, 3}, DType::BF16), b16 = Tensor::zeros({3, 5}, DType::BF16);
  const Tensor a32 = Tensor::zeros({4, 3}), b32 = Tensor::zeros({3, 5});
  Tensor c32 = Tensor::zeros({4, 5}), c16 = Tensor::zeros({4, 5}, DType::BF16);
  EXPECT_NO_THROW(ops::gemm(a16, false, b16, false, c32));
  EXPECT_NO_THROW(ops::gemm(a16, false, b16, false, c16));
  EXPECT_THROW(ops::gemm(a32, false, b32, false, c16), Error);
  EXPECT_THROW(ops::gemm(a16, false, b32, false, c32), Error);
}

// Says which path this machine takes, so a log shows what was measured.
TEST(Bf16GemmPath, IsNamed) {
  const std::string path = cpu::bf16_gemm_path();
  std::cout << "bf16 GEMM path: " << path << "\n";
  EXPECT_EQ(cpu::bf16_gemm_is_native(), path.rfind("oneDNN matmul on ", 0) == 0) << path;
}

}  // namespace
}  // namespace weft::testing
