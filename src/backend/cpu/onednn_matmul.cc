#include "backend/cpu/onednn_matmul.h"

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include "backend/cpu/cblas_interface.h"
#include "backend/cpu/cpu_common.h"
#include "backend/cpu/widened.h"
#include "weft/tensor/bf16.h"

#ifdef WEFT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace weft::cpu {

namespace {

// The product's dimensions and leading dimensions, as ops::gemm defines them.
struct GemmShape {
  int64_t m, n, k, lda, ldb;
  GemmShape(const Tensor& a, bool trans_a, const Tensor& b, const Tensor& c)
      : m(c.numel() / c.dim(-1)),
        n(c.dim(-1)),
        k(trans_a ? a.numel() / a.dim(-1) : a.dim(-1)),
        lda(a.dim(-1)),
        ldb(b.dim(-1)) {}
};

// Widened: f32 copies (widened.h's pool), the f32 product, one rounding of
// a bf16 result.
void widened_gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                  double alpha, double beta) {
  const GemmShape s(a, trans_a, b, c);
  Widened w;
  const Tensor& a32 = w.in(a);
  const Tensor& b32 = w.in(b);
  Tensor& c32 = w.out(c);
  f32_gemm_strided(trans_a, trans_b, s.m, s.n, s.k, static_cast<float>(alpha), a32.data<float>(),
                   s.lda, b32.data<float>(), s.ldb, static_cast<float>(beta), c32.data<float>(),
                   s.n);
}

#ifdef WEFT_WITH_ONEDNN

struct MatmulKey {
  int64_t m, n, k, lda, ldb, ldc;
  bool trans_a, trans_b, f32_out;
  bool f32_in;  // a and b f32 (then c too); else bf16
  float alpha, beta;
  bool operator==(const MatmulKey&) const = default;
};

struct MatmulKeyHash {
  size_t operator()(const MatmulKey& key) const {
    size_t h = 0;
    for (int64_t v : {key.m, key.n, key.k, key.lda, key.ldb, key.ldc}) {
      h = h * 1000003u ^ std::hash<int64_t>()(v);
    }
    h = h * 31u + (key.trans_a ? 1u : 0u) + (key.trans_b ? 2u : 0u) + (key.f32_out ? 4u : 0u) +
        (key.f32_in ? 8u : 0u);
    return h ^ std::hash<float>()(key.alpha) * 7u ^ std::hash<float>()(key.beta) * 13u;
  }
};

// A built primitive and the memory objects its argument map holds; a call
// only points them at the tensors.
struct CachedMatmul {
  dnnl::matmul primitive;
  dnnl::memory a, b, c;
  std::unordered_map<int, dnnl::memory> args;
};

// Shapes a run uses are few; decoding with a growing context makes more,
// so the cache starts over past this many.
constexpr size_t kMaxCachedShapes = 512;

struct ThreadMatmuls {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unordered_map<MatmulKey, CachedMatmul, MatmulKeyHash> cache;
};

ThreadMatmuls& thread_matmuls() {
  thread_local ThreadMatmuls matmuls;
  return matmuls;
}

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

// A row-major (rows, cols) matrix with leading dimension ld, read transposed
// when asked: op() of it as a oneDNN descriptor.
dnnl::memory::desc matrix_desc(int64_t op_rows, int64_t op_cols, int64_t ld, bool trans, dt type) {
  return dnnl::memory::desc(dims{op_rows, op_cols}, type, trans ? dims{1, ld} : dims{ld, 1});
}

CachedMatmul build(const MatmulKey& key, const dnnl::engine& engine) {
  const dt operands = key.f32_in ? dt::f32 : dt::bf16;
  const auto a_md = matrix_desc(key.m, key.k, key.lda, key.trans_a, operands);
  const auto b_md = matrix_desc(key.k, key.n, key.ldb, key.trans_b, operands);
  const auto c_md = matrix_desc(key.m, key.n, key.ldc, false, key.f32_out ? dt::f32 : dt::bf16);
  dnnl::primitive_attr attr;
  if (key.alpha != 1.0f) attr.set_output_scales(0, {key.alpha});
  if (key.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(key.beta);  // c = alpha·op(a)·op(b) + beta·c
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::desc desc(a_md, b_md, c_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, engine);
  CachedMatmul m;
  m.primitive = dnnl::matmul(pd);
  m.a = dnnl::memory(a_md, engine, DNNL_MEMORY_NONE);
  m.b = dnnl::memory(b_md, engine, DNNL_MEMORY_NONE);
  m.c = dnnl::memory(c_md, engine, DNNL_MEMORY_NONE);
  m.args = {{DNNL_ARG_SRC, m.a}, {DNNL_ARG_WEIGHTS, m.b}, {DNNL_ARG_DST, m.c}};
  return m;
}

// Whether oneDNN's effective ISA includes `isa` (the ISAs are bit masks).
bool cpu_has(dnnl::cpu_isa isa) {
  const auto mask = static_cast<unsigned>(isa);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & mask) == mask;
}

bool processor_has_bf16() {
  return cpu_has(dnnl::cpu_isa::avx512_core_bf16) || cpu_has(dnnl::cpu_isa::avx512_core_amx);
}

void onednn_gemm(MatmulKey key, const void* a, const void* b, void* c) {
  // oneDNN 2.6's GEMM-based matmul (the small products, attention's) applies
  // output scales in a scalar loop: a 64x64x256 product with alpha took 7x
  // as long as without. An f32 c that is overwritten is scaled here instead,
  // in one vector pass over the cache-hot result (exact: c holds the f32
  // accumulation either way).
  float scale_after = 1.0f;
  if (key.f32_out && key.beta == 0.0f && key.alpha != 0.0f) std::swap(scale_after, key.alpha);
  ThreadMatmuls& t = thread_matmuls();
  auto it = t.cache.find(key);
  if (it == t.cache.end()) {
    if (t.cache.size() >= kMaxCachedShapes) t.cache.clear();
    it = t.cache.emplace(key, build(key, t.engine)).first;
  }
  CachedMatmul& m = it->second;
  m.a.set_data_handle(const_cast<void*>(a));
  m.b.set_data_handle(const_cast<void*>(b));
  m.c.set_data_handle(c);
  m.primitive.execute(t.stream, m.args);
  t.stream.wait();
  if (scale_after != 1.0f) {
    auto* out = static_cast<float*>(c);
    for (int64_t i = 0; i < key.m; ++i) {
      float* row = out + i * key.ldc;
#pragma omp simd
      for (int64_t j = 0; j < key.n; ++j) row[j] *= scale_after;
    }
  }
}

#endif  // WEFT_WITH_ONEDNN

}  // namespace

bool bf16_gemm_is_native() {
#ifdef WEFT_WITH_ONEDNN
  static const bool native = processor_has_bf16();
  return native;
#else
  return false;
#endif
}

std::string bf16_gemm_path() {
#ifdef WEFT_WITH_ONEDNN
  if (bf16_gemm_is_native()) {
    return std::string("oneDNN matmul on ") +
           (cpu_has(dnnl::cpu_isa::avx512_core_amx) ? "AMX" : "AVX-512 BF16");
  }
  return "this processor has no bf16 instructions (AVX-512 BF16 or AMX): bf16 products are "
         "widened to f32 (slower, same results)";
#else
  return "this build has no oneDNN (WEFT_WITH_ONEDNN=OFF): bf16 products are widened to f32 "
         "(slower, same results)";
#endif
}

void bf16_gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
               double alpha, double beta) {
  const GemmShape s(a, trans_a, b, c);
  // oneDNN has no empty reduction; sgemm's k = 0 leaves beta·c.
  if (bf16_gemm_is_native() && s.k > 0) {
    bf16_gemm_strided(trans_a, trans_b, s.m, s.n, s.k, static_cast<float>(alpha), a.raw(), s.lda,
                      b.raw(), s.ldb, static_cast<float>(beta), c.raw(), s.n,
                      c.dtype() == DType::F32);
    return;
  }
  widened_gemm(a, trans_a, b, trans_b, c, alpha, beta);
}

void bf16_gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const void* a, int64_t lda, const void* b, int64_t ldb, float beta, void* c,
                       int64_t ldc, bool f32_c) {
#ifdef WEFT_WITH_ONEDNN
  WEFT_CHECK(bf16_gemm_is_native() && m > 0 && n > 0 && k > 0,
             "bf16_gemm_strided: needs bf16 instructions and a non-empty product");
  onednn_gemm(MatmulKey{m, n, k, lda, ldb, ldc, trans_a, trans_b, f32_c, false, alpha, beta}, a, b,
              c);
#else
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b,
      (void)ldb, (void)beta, (void)c, (void)ldc, (void)f32_c;
  throw Error("bf16_gemm_strided: this build has no oneDNN");
#endif
}

// Below this many multiply-adds an f32 product stays on OpenBLAS: building
// a oneDNN primitive JIT-compiles code (about a millisecond), which a tiny
// product never earns back, and OpenBLAS's call costs less.
constexpr int64_t kOneDnnMinProduct = int64_t{1} << 18;

bool f32_gemm_uses_onednn() {
#ifdef WEFT_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

void f32_gemm_strided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc) {
#ifdef WEFT_WITH_ONEDNN
  if (m > 0 && n > 0 && k > 0 && m * n * k >= kOneDnnMinProduct) {
    onednn_gemm(MatmulKey{m, n, k, lda, ldb, ldc, trans_a, trans_b, true, true, alpha, beta}, a, b,
                c);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void bf16_gemm_widened(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                       double alpha, double beta) {
  widened_gemm(a, trans_a, b, trans_b, c, alpha, beta);
}

}  // namespace weft::cpu
