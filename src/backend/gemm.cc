#include "weft/backend/gemm.h"

#include "backend/check.h"
#include "backend/cpu/onednn_matmul.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {
// (rows, cols) of a tensor read as a matrix, after the optional transpose.
std::pair<int64_t, int64_t> matrix_dims(const Tensor& t, bool trans) {
  int64_t cols = t.dim(-1);
  int64_t rows = cols == 0 ? 0 : t.numel() / cols;
  return trans ? std::make_pair(cols, rows) : std::make_pair(rows, cols);
}
}  // namespace

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  detail::check_floating("gemm", "a", a);
  detail::check_floating("gemm", "b", b);
  detail::check_floating("gemm", "c", c);
  // One exception to equal dtypes: bf16 products accumulated into an f32 c
  // (mixed precision's main gradients).
  const bool f32_c = a.dtype() == DType::BF16 && c.dtype() == DType::F32;
  WEFT_CHECK(a.dtype() == b.dtype() && (b.dtype() == c.dtype() || f32_c),
             "gemm: dtypes differ: ", a.describe(), ", ", b.describe(), ", ", c.describe(),
             " (c may be f32 only under bf16 a and b)");
  detail::check_device("gemm", "b", b, a.device());
  detail::check_device("gemm", "c", c, a.device());
  auto [m, k] = matrix_dims(a, trans_a);
  auto [k2, n] = matrix_dims(b, trans_b);
  auto [cm, cn] = matrix_dims(c, false);
  WEFT_CHECK(k == k2 && cm == m && cn == n, "gemm: op(a) is ", m, "x", k, ", op(b) is ", k2, "x",
             n, ", c is ", cm, "x", cn, " (", a.describe(), ", ", b.describe(), ", ",
             c.describe(), ")");
  WEFT_DISPATCH(a.device(), gemm, a, trans_a, b, trans_b, c, alpha, beta);
}

std::string cpu_bf16_gemm_path() { return cpu::bf16_gemm_path(); }

std::string cpu_f32_gemm_path() {
  return cpu::f32_gemm_uses_onednn() ? "oneDNN matmul" : "OpenBLAS sgemm";
}

}  // namespace weft::ops
