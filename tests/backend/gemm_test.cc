// gemm: all four transpose combinations on batch-flattened operands, alpha and
// beta, the Linear layer's backward formulas against finite differences, and
// argument checks.

#include "weft/backend/gemm.h"

#include "ops_testing.h"

namespace weft::testing {
namespace {

// c (m,n) = alpha·op(a)·op(b) + beta·c over the operands' flat values.
std::vector<double> reference_gemm(const std::vector<double>& a, bool ta,
                                   const std::vector<double>& b, bool tb, std::vector<double> c,
                                   int64_t m, int64_t n, int64_t k, double alpha, double beta) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * m + i] : a[i * k + p];
        const double bv = tb ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      c[i * n + j] = alpha * s + beta * c[i * n + j];
    }
  }
  return c;
}

class GemmForward : public FloatingTest {};

// m = 6 as (2,3), k = 15 as (3,5) when it leads, n = 7.
TEST_P(GemmForward, AllTransposeCombinationsWithAlphaBeta) {
  const DType dt = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a " << ta << ", trans_b " << tb);
      const Tensor a = random_tensor(ta ? Shape{3, 5, 6} : Shape{2, 3, 15}, dt, 1);
      const Tensor b = random_tensor(tb ? Shape{7, 15} : Shape{3, 5, 7}, dt, 2);
      Tensor c = random_tensor({2, 3, 7}, dt, 3);
      const std::vector<double> expected =
          reference_gemm(a.to_double_vector(), ta, b.to_double_vector(), tb,
                         c.to_double_vector(), 6, 7, 15, 0.7, 0.3);
      ops::gemm(a, ta, b, tb, c, 0.7, 0.3);
      EXPECT_TRUE(matches_reference(c, expected));
    }
  }
}

// Products past 2^18 multiply-adds take oneDNN's matmul in f32 (small ones
// stay on sgemm): m = 70 as (2,35), k = 81, n = 65, odd and unaligned.
TEST_P(GemmForward, LargeProductsAllTransposesWithAlphaBeta) {
  const DType dt = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a " << ta << ", trans_b " << tb);
      const Tensor a = random_tensor(ta ? Shape{81, 70} : Shape{2, 35, 81}, dt, 11);
      const Tensor b = random_tensor(tb ? Shape{65, 81} : Shape{81, 65}, dt, 12);
      Tensor c = random_tensor({2, 35, 65}, dt, 13);
      const std::vector<double> expected =
          reference_gemm(a.to_double_vector(), ta, b.to_double_vector(), tb,
                         c.to_double_vector(), 70, 65, 81, 0.7, 0.3);
      ops::gemm(a, ta, b, tb, c, 0.7, 0.3);
      EXPECT_TRUE(matches_reference(c, expected));
    }
  }
}

TEST_P(GemmForward, BetaZeroIgnoresGarbageInC) {
  const DType dt = GetParam();
  const Tensor a = random_tensor({5, 3}, dt, 4), b = random_tensor({3, 9}, dt, 5);
  Tensor c = Tensor::empty({5, 9}, dt);
  ops::fill(c, std::nan(""));
  ops::gemm(a, false, b, false, c);
  EXPECT_TRUE(matches_reference(c, reference_gemm(a.to_double_vector(), false,
                                                  b.to_double_vector(), false,
                                                  std::vector<double>(45, 0.0), 5, 9, 3, 1, 0)));
}

// One row of c (a decode step) takes the kernel's gemv path.
TEST_P(GemmForward, SingleRowAllTransposesAndGarbageInC) {
  const DType dt = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a " << ta << ", trans_b " << tb);
      const Tensor a = random_tensor(ta ? Shape{13, 1} : Shape{1, 1, 13}, dt, 6);
      const Tensor b = random_tensor(tb ? Shape{9, 13} : Shape{13, 9}, dt, 7);
      Tensor c = random_tensor({1, 1, 9}, dt, 8);
      std::vector<double> expected = reference_gemm(a.to_double_vector(), ta, b.to_double_vector(),
                                                    tb, c.to_double_vector(), 1, 9, 13, 0.7, 0.3);
      ops::gemm(a, ta, b, tb, c, 0.7, 0.3);
      EXPECT_TRUE(matches_reference(c, expected));
      ops::fill(c, std::nan(""));
      expected = reference_gemm(a.to_double_vector(), ta, b.to_double_vector(), tb,
                                std::vector<double>(9, 0.0), 1, 9, 13, 1, 0);
      ops::gemm(a, ta, b, tb, c);
      EXPECT_TRUE(matches_reference(c, expected));
    }
  }
}

WEFT_FLOATING_SUITE(GemmForward);

// The Linear layer's three products, y = x·wᵀ, dx = dy·w, dw = dyᵀ·x, checked
// against finite differences of loss = Σ y·g.
TEST(GemmBackward, LinearFormulasMatchFiniteDifferences) {
  Tensor x = random_tensor({3, 5, 7}, DType::F64, 10);
  Tensor w = random_tensor({11, 7}, DType::F64, 11);
  const Tensor g = random_tensor({3, 5, 11}, DType::F64, 12);
  Tensor y = Tensor::empty({3, 5, 11}, DType::F64);
  auto loss = [&] {
    ops::gemm(x, false, w, true, y);
    return dot(y, g);
  };
  Tensor dx = Tensor::empty(x.shape(), DType::F64);
  Tensor dw = random_tensor(w.shape(), DType::F64, 13);
  const Tensor dw_before = dw.clone();
  ops::gemm(g, false, w, false, dx);
  ops::gemm(g, true, x, false, dw, 1.0, 1.0);  // accumulates, as parameter gradients do
  ops::axpy(-1.0, dw_before, dw);
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
  EXPECT_TRUE(matches_numeric_gradient(dw, loss, w));
}

TEST(GemmChecks, RefusesMismatchedArguments) {
  const Tensor a = Tensor::zeros({4, 3}), b = Tensor::zeros({3, 5});
  Tensor c = Tensor::zeros({4, 5});
  Tensor wrong_c = Tensor::zeros({4, 6});
  Tensor c64 = Tensor::zeros({4, 5}, DType::F64);
  Tensor ids = Tensor::zeros({4, 5}, DType::I32);
  EXPECT_NO_THROW(ops::gemm(a, false, b, false, c));
  EXPECT_THROW(ops::gemm(a, true, b, false, c), Error);       // inner dimensions 4 vs 3
  EXPECT_THROW(ops::gemm(a, false, b, false, wrong_c), Error);
  EXPECT_THROW(ops::gemm(a, false, b, false, c64), Error);   // dtypes differ
  EXPECT_THROW(ops::gemm(a, false, b, false, ids), Error);   // not floating
  EXPECT_THROW(ops::gemm(Tensor(), false, b, false, c), Error);
}

}  // namespace
}  // namespace weft::testing
