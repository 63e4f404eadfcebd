// GEMM and the fused linear ops on CUDA. The products run in cuBLASLt
// (lt_matmul.h), the bias and GELU in its epilogue where cuBLASLt allows;
// otherwise a plain GEMM is followed by the elementwise kernels below, which
// compute the CPU's GELU (activation_cpu.cc): x·σ(2u), u = √(2/π)·(x +
// 0.044715·x³), with the gate taken as 0 far left. Tensors are read as
// matrices: rows = product of the leading dimensions, cols = the last.

#include "backend/cuda/device_common.cuh"
#include "backend/cuda/lt_matmul.h"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kCubic = 0.044715;
constexpr int kThreads = 256;

// σ(2u(x)) in f32, exactly the CPU's expression and cut.
__device__ __forceinline__ float gelu_gate(float x) {
  const float z =
      -2.0f * static_cast<float>(kSqrt2OverPi) * (x + static_cast<float>(kCubic) * x * x * x);
  return z > 80.0f ? 0.0f : 1.0f / (1.0f + expf(z));
}

// d/dx [x·s] = s + x·s·(1 − s)·2u'(x),  u' = √(2/π)·(1 + 3·0.044715·x²)
__device__ __forceinline__ float gelu_slope(float x) {
  const float s = gelu_gate(x);
  const float du =
      static_cast<float>(kSqrt2OverPi) * (1.0f + static_cast<float>(3 * kCubic) * x * x);
  return s + x * s * (1.0f - s) * 2.0f * du;
}

// W consecutive elements as floats: one 128-bit access when W is a full
// Packed<T>, one scalar access when W is 1.
template <typename T, int W>
__device__ __forceinline__ void load(const T* p, float (&v)[W]) {
  static_assert(W == 1 || W == Packed<T>::size);
  if constexpr (W == 1) {
    v[0] = to_float(*p);
  } else {
    const Packed<T> x = load_packed(p);
#pragma unroll
    for (int e = 0; e < W; ++e) v[e] = x.get(e);
  }
}
template <typename T, int W>
__device__ __forceinline__ void store(T* p, const float (&v)[W]) {
  static_assert(W == 1 || W == Packed<T>::size);
  if constexpr (W == 1) {
    *p = from_float<T>(v[0]);
  } else {
    Packed<T> x;
#pragma unroll
    for (int e = 0; e < W; ++e) x.set(e, v[e]);
    store_packed(p, x);
  }
}

// z (n elements, rows of `cols`) holds x·wᵀ. With kBias z += bias (cols);
// with kGelu then y = gelu(z), z staying as the pre-activation. As on the CPU,
// the GELU reads z as stored (rounded to T). W divides cols.
template <typename T, int W, bool kBias, bool kGelu>
__global__ void bias_gelu_kernel(const T* __restrict__ bias, T* __restrict__ z, T* __restrict__ y,
                                 int64_t n, int64_t cols) {
  const int64_t groups = n / W;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups;
       g += step) {
    const int64_t i = g * W;
    float v[W];
    load<T, W>(z + i, v);
    if constexpr (kBias) {
      float b[W];
      load<T, W>(bias + i % cols, b);
#pragma unroll
      for (int e = 0; e < W; ++e) v[e] = to_float(from_float<T>(v[e] + b[e]));
      store<T, W>(z + i, v);
    }
    if constexpr (kGelu) {
#pragma unroll
      for (int e = 0; e < W; ++e) v[e] = v[e] * gelu_gate(v[e]);
      store<T, W>(y + i, v);
    }
  }
}

// dz (n) *= gelu'(pre): dz holds dy·w.
template <typename T, int W>
__global__ void dgelu_kernel(const T* __restrict__ pre, T* __restrict__ dz, int64_t n) {
  const int64_t groups = n / W;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups;
       g += step) {
    const int64_t i = g * W;
    float x[W], d[W];
    load<T, W>(pre + i, x);
    load<T, W>(dz + i, d);
#pragma unroll
    for (int e = 0; e < W; ++e) d[e] = d[e] * gelu_slope(x[e]);
    store<T, W>(dz + i, d);
  }
}

// c (n) = beta·c: a product with k = 0 (beta is not zero here).
template <typename T>
__global__ void scale_kernel(T* c, float beta, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    c[i] = from_float<T>(beta * to_float(c[i]));
  }
}

template <typename T, bool kBias, bool kGelu>
void launch_bias_gelu(const char* op, const T* bias, T* z, T* y, int64_t n, int64_t cols) {
  constexpr int P = Packed<T>::size;
  const bool vector = cols % P == 0 && packable<T>(z, n) && (!kBias || packable<T>(bias, cols)) &&
                      (!kGelu || packable<T>(y, n));
  const cudaStream_t s = stream(op);
  if (vector) {
    bias_gelu_kernel<T, P, kBias, kGelu>
        <<<grid_for(n / P, kThreads, op), kThreads, 0, s>>>(bias, z, y, n, cols);
  } else {
    bias_gelu_kernel<T, 1, kBias, kGelu>
        <<<grid_for(n, kThreads, op), kThreads, 0, s>>>(bias, z, y, n, cols);
  }
  WEFT_LAUNCH_CHECK("bias_gelu_kernel");
}

// z += bias and/or y = gelu(z), after a plain GEMM into z; y null: no GELU.
void bias_gelu(const char* op, const Tensor& bias, Tensor& z, Tensor* y) {
  if (!bias.defined() && y == nullptr) return;
  dispatch_floating(op, z.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* b = bias.defined() ? ptr<T>(bias) : nullptr;
    T* out = y != nullptr ? ptr<T>(*y) : nullptr;
    const int64_t n = z.numel(), cols = z.dim(-1);
    if (b != nullptr && out != nullptr) {
      launch_bias_gelu<T, true, true>(op, b, ptr<T>(z), out, n, cols);
    } else if (b != nullptr) {
      launch_bias_gelu<T, true, false>(op, b, ptr<T>(z), out, n, cols);
    } else {
      launch_bias_gelu<T, false, true>(op, b, ptr<T>(z), out, n, cols);
    }
  });
}

void dgelu(const char* op, const Tensor& pre, Tensor& dz) {
  dispatch_floating(op, dz.dtype(), [&](auto zero) {
    using T = decltype(zero);
    constexpr int P = Packed<T>::size;
    const int64_t n = dz.numel();
    const cudaStream_t s = stream(op);
    if (packable<T>(pre.raw(), n) && packable<T>(dz.raw(), n)) {
      dgelu_kernel<T, P>
          <<<grid_for(n / P, kThreads, op), kThreads, 0, s>>>(ptr<T>(pre), ptr<T>(dz), n);
    } else {
      dgelu_kernel<T, 1><<<grid_for(n, kThreads, op), kThreads, 0, s>>>(ptr<T>(pre), ptr<T>(dz), n);
    }
    WEFT_LAUNCH_CHECK("dgelu_kernel");
  });
}

void check_dtype(const char* op, DType dtype) {
  WEFT_CHECK(dtype == DType::F32 || dtype == DType::BF16, "cuda ", op, ": ", dtype_name(dtype),
             " is not supported on CUDA (GEMMs run in f32 or bf16; f64 is for CPU reference "
             "checks)");
}

int64_t rows_of(const Tensor& t) {
  return t.dim(-1) == 0 ? 0 : t.numel() / t.dim(-1);
}

// c (m,n) = op(a)·op(b) on the tensors' storage; epilogue none, alpha 1, beta 0.
LtMatmul problem(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                 int64_t k) {
  LtMatmul p;
  p.dtype = a.dtype();
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

// A GEMM without epilogue, including the empty cases cuBLASLt does not take.
void plain_gemm(const char* op, const LtMatmul& p, Tensor& c) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k > 0) {
    lt_matmul(op, p);
  } else if (p.beta == 0.0f) {
    WEFT_CUDA_CALL(op, cudaMemsetAsync(c.raw(), 0, c.nbytes(), stream(op)));  // 0.0 in f32 and bf16
  } else {
    dispatch_floating(op, c.dtype(), [&](auto zero) {
      using T = decltype(zero);
      scale_kernel<T><<<grid_for(c.numel(), kThreads, op), kThreads, 0, stream(op)>>>(
          ptr<T>(c), p.beta, c.numel());
      WEFT_LAUNCH_CHECK("scale_kernel");
    });
  }
}

}  // namespace

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  const char* op = "gemm";
  check_dtype(op, a.dtype());
  const int64_t k = trans_a ? rows_of(a) : a.dim(-1);
  LtMatmul p = problem(a, trans_a, b, trans_b, c, k);
  p.alpha = static_cast<float>(alpha);
  p.beta = static_cast<float>(beta);
  plain_gemm(op, p, c);
}

// x (N...,in)  w (out,in)  bias (out) or undefined  pre, y (N...,out)
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, bool gelu, Tensor& pre,
                    Tensor& y) {
  const char* op = "linear_forward";
  check_dtype(op, x.dtype());
  const int64_t in = x.dim(-1), out = w.dim(0);
  if (rows_of(y) == 0 || out == 0) return;
  // cuBLASLt's GELU epilogue evaluates tanh approximately: well inside the
  // bf16 budget, not certainly inside f32's 1e-5, so f32 uses the kernels below.
  const bool epilogue_ok = !gelu || x.dtype() == DType::BF16;
  if (in > 0 && (gelu || bias.defined()) && epilogue_ok) {
    LtMatmul fused = problem(x, false, w, true, y, in);
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
  plain_gemm(op, problem(x, false, w, true, z, in), z);
  bias_gelu(op, bias, z, gelu ? &y : nullptr);
}

// dy (N...,out)  w (out,in)  pre, dpre (N...,in):  dpre = (dy·w) ⊙ gelu'(pre)
void linear_backward_gelu(const Tensor& dy, const Tensor& w, const Tensor& pre, Tensor& dpre) {
  const char* op = "linear_backward_gelu";
  check_dtype(op, dy.dtype());
  const int64_t out = w.dim(0), in = w.dim(1);
  if (rows_of(dpre) == 0 || in == 0) return;
  const LtMatmul plain = problem(dy, false, w, false, dpre, out);
  if (out > 0 && dy.dtype() == DType::BF16) {  // f32: exact derivative below (see above)
    LtMatmul fused = plain;
    fused.epilogue = LtEpilogue::DGelu;
    fused.aux = const_cast<void*>(pre.raw());  // read, not written, under DGELU
    fused.ld_aux = in;
    if (try_lt_matmul(op, fused)) return;
  }
  plain_gemm(op, plain, dpre);
  dgelu(op, pre, dpre);
}

}  // namespace weft::cuda
