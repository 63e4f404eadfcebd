#pragma once
// One cuBLASLt matmul on row-major matrices, with an optional epilogue:
//   c (m,n) = alpha · op(a) · op(b) + beta · c,   op(a) (m,k), op(b) (k,n)
// then, by epilogue,
//   Bias         c += bias (n) on every row
//   GeluAux      aux = c;          c = gelu(aux)
//   GeluAuxBias  aux = c + bias;   c = gelu(aux)
//   DGelu        c = c ⊙ gelu'(aux)     (aux is read)
//   BiasGradient bias_grad[i] = Σ_k op(a)[i,k], i < m   (written, not added to;
//                c is computed as usual)
// gelu is the tanh form. aux (m,n) is row-major with leading dimension
// ld_aux. With batch > 1 the strides (in elements) step from one matrix to
// the next (bias is shared by the batch).
//
// cuBLASLt is column-major: the call computes cᵀ = op(b)ᵀ · op(a)ᵀ, so its
// "rows" are our n — the bias length and the aux leading-dimension rule
// (ld_aux ≥ n, a multiple of 8) read that way.
//
// BiasGradient is cuBLASLt's CUBLASLT_EPILOGUE_BGRADB. In cublasLt.h's
// words, BGRADA reduces its A over k into a vector as long as D's rows and
// BGRADB its B into one as long as D's columns. Its A is our b, its B our a,
// and its D (n,m) has m columns: BGRADB sums our op(a) (m,k) over k into a
// vector of our m. For a weight gradient dw (out,in) += dyᵀ·x (a = dy
// transposed, m = out, k = rows) that is Σ_rows dy, the bias gradient, taken
// from the dy the product reads anyway. The vector has c's dtype (cuBLASLt's
// bias-gradient type is C's unless set), so an f32 c under bf16 a and b
// gives an f32 bias gradient.
//
// The descriptors, layouts and the algorithm chosen by cuBLASLt's heuristic
// are cached per problem (shapes, strides, dtype, epilogue, pointer
// alignments), so a steady-state call does no search.

#include <cstdint>

#include "weft/tensor/dtype.h"

namespace weft::cuda {

enum class LtEpilogue { None, Bias, GeluAux, GeluAuxBias, DGelu, BiasGradient };

struct LtMatmul {
  DType dtype = DType::F32;  // of a, b, c, bias and aux: F32 or BF16; f32 compute either way
  // bf16 a and b with an f32 c: the f32 accumulation kept unrounded (main
  // gradients accumulated across micro-batches). Batch 1, no epilogue but
  // BiasGradient.
  bool f32_c = false;
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  // leading dimensions: elements per stored row
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* c = nullptr;
  int64_t ldc = 0;
  float alpha = 1.0f, beta = 0.0f;
  LtEpilogue epilogue = LtEpilogue::None;
  const void* bias = nullptr;  // (n), Bias and GeluAuxBias
  void* bias_grad = nullptr;   // (m) in c's dtype, BiasGradient: batch 1, alpha 1
  void* aux = nullptr;         // (m,n), the GELU epilogues
  int64_t ld_aux = 0;
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, stride_aux = 0;
};

// Runs the matmul on the compute stream. Returns false, having done nothing,
// when cuBLASLt cannot apply this epilogue here (aux leading dimension or
// stride not a multiple of 8, bias, bias_grad or aux not 16-byte aligned, no
// algorithm): the caller then runs a plain matmul and its own kernel. m, n
// and k must be positive.
bool try_lt_matmul(const char* op, const LtMatmul& problem);

// The same, refusing with an error naming `op` when no algorithm exists.
void lt_matmul(const char* op, const LtMatmul& problem);

}  // namespace weft::cuda
