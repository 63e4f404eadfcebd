#pragma once
// Matrix products on the CPU through oneDNN's matmul: bf16 (and f32, below).
// bf16: AVX-512 BF16 and
// AMX multiply bf16 pairs and accumulate in f32, at about twice the f32 rate
// of the same cores. OpenBLAS (Debian's build) has no bf16 GEMM.
//
// Primitives are built once per shape and kept, with their memory objects
// and argument maps, in a cache per calling thread (simulated ranks are
// threads; a oneDNN stream is not thread-safe), so a steady-state call
// allocates nothing. Without oneDNN in the build, or on a processor without
// bf16 instructions, bf16 products widen to f32, run sgemm and round: the same
// result up to the summation order, more slowly (bf16_gemm_path() says which).

#include <string>

#include "weft/tensor/tensor.h"

namespace weft::cpu {

// c = alpha · op(a) · op(b) + beta · c with a, b bf16 and c bf16 or f32
// (an f32 c holds the f32 accumulation unrounded: main gradients). Shapes
// are read as ops::gemm reads them and were checked there.
void bf16_gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
               double alpha, double beta);

// The same product on raw row-major matrices with leading dimensions (in
// elements), a and b bf16, c bf16 or f32 (f32_c): attention's strided
// per-head slices. Only where bf16_gemm_is_native(), with m, n, k > 0.
void bf16_gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const void* a, int64_t lda, const void* b, int64_t ldb, float beta, void* c,
                       int64_t ldc, bool f32_c);

// f32 products: oneDNN's f32 matmul where the build has oneDNN (on this
// project's test machine, AVX-512, it ran weft's GEMM shapes at about 5x
// OpenBLAS's sgemm from Debian: 410-430 against 80-87 GFLOP/s on 2 cores),
// else OpenBLAS. Empty and small products (under 2^18 multiply-adds) go to
// sgemm: k = 0 leaves beta·c, and a small one never earns back a primitive.
bool f32_gemm_uses_onednn();
void f32_gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc);

// The path without bf16 instructions, always built: bf16_gemm's result up
// to the summation order (tests compare the two).
void bf16_gemm_widened(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                       double alpha, double beta);

// One line for the run's header: "oneDNN matmul, avx512_core_amx" or why
// bf16 products are widened to f32.
std::string bf16_gemm_path();
// Whether bf16 products run on bf16 instructions (oneDNN on AVX-512 BF16 or AMX).
bool bf16_gemm_is_native();

}  // namespace weft::cpu
