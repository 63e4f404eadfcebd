// GEMM on the CPU on row-major matrices: f32 and bf16 through oneDNN's
// matmul (onednn_matmul.h), f64 and single-row f32 products (gemv) through
// OpenBLAS (the reference BLAS in the GPU bundle's build). Both are OpenMP
// builds, so they share the thread pool with the other CPU kernels and run
// single-threaded inside a parallel region.

#include "backend/cpu/cblas_interface.h"
#include "backend/cpu/onednn_matmul.h"
#include "backend/kernels.h"
#include "weft/tensor/error.h"

namespace weft::cpu {

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  const int64_t a_cols = a.dim(-1), b_cols = b.dim(-1);
  const int64_t m = c.numel() / c.dim(-1), n = c.dim(-1);
  const int64_t k = trans_a ? a.numel() / a_cols : a_cols;
  if (m == 0 || n == 0) return;
  if (a.dtype() == DType::BF16) {
    bf16_gemm(a, trans_a, b, trans_b, c, alpha, beta);
    return;
  }
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (m == 1) {
    // One row (a decode step): OpenBLAS's gemv is several times faster than
    // its gemm here. a's k values are contiguous either way; c = op(b)ᵀ·a.
    const CBLAS_TRANSPOSE tv = trans_b ? CblasNoTrans : CblasTrans;
    const int64_t rows = trans_b ? n : k, cols = trans_b ? k : n;
    switch (a.dtype()) {
      case DType::F32:
        cblas_sgemv(CblasRowMajor, tv, rows, cols, static_cast<float>(alpha), b.data<float>(),
                    b_cols, a.data<float>(), 1, static_cast<float>(beta), c.data<float>(), 1);
        return;
      case DType::F64:
        cblas_dgemv(CblasRowMajor, tv, rows, cols, alpha, b.data<double>(), b_cols,
                    a.data<double>(), 1, beta, c.data<double>(), 1);
        return;
      default:
        break;  // refused below
    }
  }
  switch (a.dtype()) {
    case DType::F32:
      f32_gemm_strided(trans_a, trans_b, m, n, k, static_cast<float>(alpha), a.data<float>(),
                       a_cols, b.data<float>(), b_cols, static_cast<float>(beta), c.data<float>(),
                       n);
      break;
    case DType::F64:
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.data<double>(), a_cols, b.data<double>(),
                  b_cols, beta, c.data<double>(), n);
      break;
    default:
      throw Error(detail::concat("cpu gemm: unsupported dtype ", dtype_name(a.dtype())));
  }
}

}  // namespace weft::cpu
