#pragma once
#include <string>

#include "weft/tensor/tensor.h"

namespace weft::ops {

// c = alpha · op(a) · op(b) + beta · c.
// Each tensor is read as a matrix: rows = product of the leading dimensions,
// cols = the last dimension; op() transposes when asked. So for a Linear
// layer over x (B,T,in) and weight w (out,in):
//   forward   y  = x · wᵀ        gemm(x, false, w, true,  y)
//   backward  dx = dy · w        gemm(dy, false, w, false, dx)
//             dw += dyᵀ · x      gemm(dy, true,  x, false, dw, 1, 1)
void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
          double alpha = 1.0, double beta = 0.0);

// How bf16 products run on this CPU, in one line for a run's header:
// "oneDNN matmul on AMX", or why they are widened to f32 (slower).
std::string cpu_bf16_gemm_path();
// The same for f32 products: "oneDNN matmul" or "OpenBLAS sgemm".
std::string cpu_f32_gemm_path();

}  // namespace weft::ops
