// The fused linear ops on CUDA: the product in cuBLASLt with the bias, the
// GELU or the bias gradient in its epilogue where cuBLASLt allows; otherwise
// a plain GEMM followed by the steps of the CPU (linear_cpu.cc): the bias add
// and the GELU of gelu.h, fused into one pass when both apply, or
// bias_backward. Tensors are read as matrices:
// rows = product of the leading dimensions, cols = the last.
//
// The activation kernels are named cuda:: because their ops::Activation
// argument would also bring ops::activation_* in by argument lookup.

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/cuda/gemm_cuda.h"
#include "backend/gelu.h"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

// z (n, rows of `cols`) += bias (cols); then y = gelu(z), reading z as stored
// (rounded to T), as the CPU's separate steps do. Vector groups need
// cols % Packed<T>::size == 0.
template <typename T>
struct BiasGelu {
  AddRepeating<T> bias_add;  // rows = bias, y = z, period = cols
  T* y;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    float v[W];
    bias_add.add(i, v);
#pragma unroll
    for (int e = 0; e < W; ++e) v[e] = gelu::value(v[e], ExpF{});
    store_floats<W>(y + i, v);
  }
};

// z += bias and/or y = gelu(z), after a plain GEMM into z; bias undefined:
// none, y null: no GELU.
void bias_gelu(const char* op, const Tensor& bias, Tensor& z, Tensor* y) {
  if (y == nullptr) {
    if (bias.defined()) add_bias(bias, z);
    return;
  }
  if (!bias.defined()) {
    cuda::activation_forward(ops::Activation::GELU, z, *y);
    return;
  }
  dispatch_floating(op, z.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const int64_t cols = z.dim(-1);
    const BiasGelu<T> step{{ptr<T>(bias), ptr<T>(z), cols}, ptr<T>(*y)};
    const bool vec = cols % Packed<T>::size == 0 && aligned16(step.bias_add.rows) &&
                     aligned16(step.bias_add.y) && aligned16(step.y);
    launch_elementwise<Packed<T>::size>(op, z.numel(), vec, step);
  });
}

// The bias gradient the epilogue writes (it does not add) before it is added
// to dbias: f32, one per thread, grown only, so steady-state calls allocate
// nothing.
Tensor& bias_grad_scratch(int64_t out) {
  thread_local Tensor scratch;
  Tensor::ensure(scratch, {out}, DType::F32, Device::CUDA);
  return scratch;
}

}  // namespace

// x (N...,in)  w (out,in)  bias (out) or undefined  pre, y (N...,out)
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu, Tensor& pre,
                    Tensor& y) {
  const char* op = "linear_forward";
  check_gemm_dtype(op, x.dtype());
  const int64_t in = x.dim(-1), out = w.dim(0);
  if (rows_of(y) == 0 || out == 0) return;
  // cuBLASLt's GELU epilogue evaluates tanh approximately: well inside the
  // bf16 budget, not certainly inside f32's 1e-5, so f32 uses the kernels.
  const bool epilogue_ok = !gelu || x.dtype() == DType::BF16;
  if (in > 0 && (gelu || bias.defined()) && epilogue_ok) {
    LtMatmul fused = matmul_of(x, false, w, true, y, in);
    fused.epilogue =
        gelu ? (bias.defined() ? LtEpilogue::GeluAuxBias : LtEpilogue::GeluAux) : LtEpilogue::Bias;
    fused.bias = bias.defined() ? bias.raw() : nullptr;
    if (gelu) {
      fused.aux = pre.raw();
      fused.ld_aux = out;
    }
    if (try_lt_matmul(op, fused)) return;
  }
  Tensor& z = gelu ? pre : y;  // x·wᵀ (+ bias), before the GELU
  plain_gemm(op, matmul_of(x, false, w, true, z, in), z);
  bias_gelu(op, bias, z, gelu ? &y : nullptr);
}

// dy (N...,out)  w (out,in)  pre, dpre (N...,in):  dpre = (dy·w) ⊙ gelu'(pre)
void linear_backward_gelu(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dpre) {
  const char* op = "linear_backward_gelu";
  check_gemm_dtype(op, dy.dtype());
  const int64_t out = w.dim(0), in = w.dim(1);
  if (rows_of(dpre) == 0 || in == 0) return;
  const LtMatmul plain = matmul_of(dy, false, w, false, dpre, out);
  if (out > 0 && dy.dtype() == DType::BF16) {  // f32: exact derivative below (see above)
    LtMatmul fused = plain;
    fused.epilogue = LtEpilogue::DGelu;
    fused.aux = const_cast<void*>(pre.raw());  // read, not written, under DGELU
    fused.ld_aux = in;
    if (try_lt_matmul(op, fused)) return;
  }
  plain_gemm(op, plain, dpre);
  cuda::activation_backward(ops::Activation::GELU, pre, dpre, dpre);
}

// dy (N...,out)  x (N...,in)  dweight (out,in) += dyᵀ·x  dbias (out) += Σ_rows dy
// Fused for f32 gradients (f32, or main gradients of bf16 dy and x): the
// epilogue's vector has dweight's dtype, and an f32 one is added to dbias
// with a single rounding, as bias_backward does.
void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dweight, Tensor& dbias) {
  const char* op = "linear_backward_weight";
  check_gemm_dtype(op, dy.dtype());
  const int64_t rows = rows_of(dy);
  LtMatmul product = matmul_of(dy, true, x, false, dweight, rows);
  product.beta = 1.0f;
  if (dbias.defined() && dbias.dtype() == DType::F32 && dweight.dtype() == DType::F32 &&
      product.m > 0 && product.n > 0 && rows > 0) {
    Tensor& scratch = bias_grad_scratch(product.m);
    LtMatmul fused = product;
    fused.epilogue = LtEpilogue::BiasGradient;
    fused.bias_grad = scratch.raw();
    if (try_lt_matmul(op, fused)) {
      add(scratch, dbias, dbias);
      return;
    }
  }
  plain_gemm(op, product, dweight);
  if (dbias.defined()) bias_backward(dy, dbias);
}

}  // namespace weft::cuda
