#pragma once
// What the plain GEMM (gemm_cuda.cu) lends the fused linear ops
// (linear_cuda.cu): tensors read as row-major matrices (rows = product of
// the leading dimensions, cols = the last) for cuBLASLt, and a product
// without epilogue that also takes the empty cases cuBLASLt does not.

#include <cstdint>

#include "backend/cuda/lt_matmul.h"
#include "weft/tensor/tensor.h"

namespace weft::cuda {

// Refuses dtypes other than f32 and bf16, naming `op`.
void check_gemm_dtype(const char* op, DType dtype);

// c (m,n) = op(a)·op(b) on the tensors' storage, inner dimension k;
// epilogue none, alpha 1, beta 0.
LtMatmul matmul_of(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                   int64_t k);

// Runs p (no epilogue) into c: k = 0 leaves beta·c, m or n = 0 nothing.
void plain_gemm(const char* op, const LtMatmul& p, Tensor& c);

}  // namespace weft::cuda
