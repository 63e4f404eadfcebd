// GEMM on CUDA: the products run in cuBLASLt (lt_matmul.h). Tensors are read
// as matrices: rows = product of the leading dimensions, cols = the last.

#include "backend/cuda/device_common.cuh"
#include "backend/cuda/gemm_cuda.h"
#include "backend/kernels.h"

namespace weft::cuda {

void check_gemm_dtype(const char* op, DType dtype) {
  WEFT_CHECK(dtype == DType::F32 || dtype == DType::BF16, "cuda ", op, ": ", dtype_name(dtype),
             " is not supported on CUDA (GEMMs run in f32 or bf16; f64 is for CPU reference "
             "checks)");
}

LtMatmul matmul_of(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                   int64_t k) {
  LtMatmul p;
  p.dtype = a.dtype();
  p.f32_c = a.dtype() == DType::BF16 && c.dtype() == DType::F32;
  p.trans_a = trans_a;
  p.trans_b = trans_b;
  p.m = rows_of(c);
  p.n = c.dim(-1);
  p.k = k;
  p.a = a.raw();
  p.lda = a.dim(-1);
  p.b = b.raw();
  p.ldb = b.dim(-1);
  p.c = c.raw();
  p.ldc = c.dim(-1);
  return p;
}

void plain_gemm(const char* op, const LtMatmul& p, Tensor& c) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k > 0) {
    lt_matmul(op, p);
  } else if (p.beta == 0.0f) {
    WEFT_CUDA_CALL(op, cudaMemsetAsync(c.raw(), 0, c.nbytes(), stream(op)));  // 0.0 in f32 and bf16
  } else {
    scale(c, p.beta);  // a product with k = 0: c = beta·c
  }
}

// a, b, c: c (m,n) = alpha·op(a)·op(b) + beta·c
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  const char* op = "gemm";
  check_gemm_dtype(op, a.dtype());
  const int64_t k = trans_a ? rows_of(a) : a.dim(-1);
  LtMatmul p = matmul_of(a, trans_a, b, trans_b, c, k);
  p.alpha = static_cast<float>(alpha);
  p.beta = static_cast<float>(beta);
  plain_gemm(op, p, c);
}

}  // namespace weft::cuda
