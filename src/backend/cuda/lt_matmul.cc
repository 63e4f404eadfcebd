#include "backend/cuda/lt_matmul.h"

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "weft/tensor/error.h"

namespace weft::cuda {

namespace {

// The largest power of two up to 256 that divides `bits` (an address, or an
// address OR-ed with a batch stride in bytes). cuBLASLt's heuristic assumes
// 256-byte aligned operands unless told otherwise.
uint32_t alignment_of(uintptr_t bits) {
  uint32_t alignment = 256;
  while (alignment > 1 && bits % alignment != 0) alignment /= 2;
  return alignment;
}

// The alignment every matrix of a strided batch keeps.
uint32_t alignment_of(const void* p, const LtMatmul& problem, int64_t stride) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(p);
  if (problem.batch <= 1) return alignment_of(address);
  return alignment_of(address | static_cast<uintptr_t>(stride * dtype_size(problem.dtype)));
}

// The vector in CUBLASLT_MATMUL_DESC_BIAS_POINTER: read by Bias and
// GeluAuxBias, written by BiasGradient.
bool uses_bias(LtEpilogue e) {
  return e == LtEpilogue::Bias || e == LtEpilogue::GeluAuxBias || e == LtEpilogue::BiasGradient;
}
const void* bias_pointer(const LtMatmul& p) {
  return p.epilogue == LtEpilogue::BiasGradient ? p.bias_grad : p.bias;
}
bool uses_aux(LtEpilogue e) {
  return e == LtEpilogue::GeluAux || e == LtEpilogue::GeluAuxBias || e == LtEpilogue::DGelu;
}

cublasLtEpilogue_t lt_epilogue(LtEpilogue e) {
  switch (e) {
    case LtEpilogue::None:
      return CUBLASLT_EPILOGUE_DEFAULT;
    case LtEpilogue::Bias:
      return CUBLASLT_EPILOGUE_BIAS;
    case LtEpilogue::GeluAux:
      return CUBLASLT_EPILOGUE_GELU_AUX;
    case LtEpilogue::GeluAuxBias:
      return CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    case LtEpilogue::DGelu:
      return CUBLASLT_EPILOGUE_DGELU;
    case LtEpilogue::BiasGradient:  // BGRADB: see lt_matmul.h for why not BGRADA
      return CUBLASLT_EPILOGUE_BGRADB;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// cuBLASLt's documented rules for the epilogue's extra operands, and the
// 16-byte alignment of the bias vector (read, or written as the bias
// gradient) and aux that its kernels want in practice.
bool epilogue_usable(const LtMatmul& p) {
  if (uses_bias(p.epilogue) && alignment_of(reinterpret_cast<uintptr_t>(bias_pointer(p))) < 16) {
    return false;
  }
  if (uses_aux(p.epilogue)) {
    if (p.ld_aux % 8 != 0 || p.ld_aux < p.n) return false;
    if (p.batch > 1 && p.stride_aux % 8 != 0) return false;
    if (alignment_of(p.aux, p, p.stride_aux) < 16) return false;
  }
  return true;
}

// Everything the descriptors and the algorithm choice depend on.
using PlanKey = std::array<int64_t, 23>;

PlanKey key_of(const LtMatmul& p, bool tf32) {
  return {static_cast<int64_t>(p.dtype),
          p.f32_c,
          tf32,
          p.trans_a,
          p.trans_b,
          p.m,
          p.n,
          p.k,
          p.lda,
          p.ldb,
          p.ldc,
          static_cast<int64_t>(p.epilogue),
          uses_aux(p.epilogue) ? p.ld_aux : 0,
          p.batch,
          p.batch > 1 ? p.stride_a : 0,
          p.batch > 1 ? p.stride_b : 0,
          p.batch > 1 ? p.stride_c : 0,
          p.batch > 1 && uses_aux(p.epilogue) ? p.stride_aux : 0,
          alignment_of(p.a, p, p.stride_a),
          alignment_of(p.b, p, p.stride_b),
          alignment_of(p.c, p, p.stride_c),
          uses_bias(p.epilogue) ? alignment_of(reinterpret_cast<uintptr_t>(bias_pointer(p))) : 0,
          uses_aux(p.epilogue) ? alignment_of(p.aux, p, p.stride_aux) : 0};
}

// cuBLASLt's column-major view of one problem: the matmul descriptor, the
// layouts of its A (our b), its B (our a) and its C = D (our c), and the
// algorithm its heuristic chose.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a_layout = nullptr, b_layout = nullptr, c_layout = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool found = false;  // false: no algorithm for this epilogue here

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    // Host objects only; a failure here has nobody to report to.
    if (c_layout != nullptr) cublasLtMatrixLayoutDestroy(c_layout);
    if (b_layout != nullptr) cublasLtMatrixLayoutDestroy(b_layout);
    if (a_layout != nullptr) cublasLtMatrixLayoutDestroy(a_layout);
    if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
  }
};

struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* pref) const {
    cublasLtMatmulPreferenceDestroy(pref);
  }
};

// A row-major (rows, cols) matrix with leading dimension ld is the
// column-major (cols, rows) matrix with the same ld.
void make_layout(const char* op, cublasLtMatrixLayout_t* layout, DType dtype, int64_t rows,
                 int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  const cudaDataType_t type = dtype == DType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  WEFT_CUBLAS_CALL(op, cublasLtMatrixLayoutCreate(layout, type, static_cast<uint64_t>(cols),
                                                  static_cast<uint64_t>(rows), ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    WEFT_CUBLAS_CALL(op, cublasLtMatrixLayoutSetAttribute(
                             *layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
    WEFT_CUBLAS_CALL(
        op, cublasLtMatrixLayoutSetAttribute(*layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                             &stride, sizeof(stride)));
  }
}

// The bias and aux pointers live in the descriptor: set for the heuristic
// (which reads their alignment) and again for every call.
void set_pointers(const char* op, const Plan& plan, const LtMatmul& p) {
  if (uses_bias(p.epilogue)) {
    const void* bias = bias_pointer(p);
    WEFT_CUBLAS_CALL(op, cublasLtMatmulDescSetAttribute(
                             plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  if (uses_aux(p.epilogue)) {
    WEFT_CUBLAS_CALL(
        op, cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                           &p.aux, sizeof(p.aux)));
  }
}

std::unique_ptr<Plan> make_plan(const char* op, const LtMatmul& p, const Context& ctx) {
  auto plan = std::make_unique<Plan>();
  // cᵀ (n,m) = op(b)ᵀ · op(a)ᵀ in column-major: cuBLASLt's A is our b, its B
  // our a, each transposed exactly when ours is.
  make_layout(op, &plan->a_layout, p.dtype, p.trans_b ? p.n : p.k, p.trans_b ? p.k : p.n, p.ldb,
              p.batch, p.stride_b);
  make_layout(op, &plan->b_layout, p.dtype, p.trans_a ? p.k : p.m, p.trans_a ? p.m : p.k, p.lda,
              p.batch, p.stride_a);
  make_layout(op, &plan->c_layout, p.f32_c ? DType::F32 : p.dtype, p.m, p.n, p.ldc, p.batch,
              p.stride_c);

  const cublasComputeType_t compute =
      p.dtype == DType::F32 && ctx.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  WEFT_CUBLAS_CALL(op, cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F));
  const cublasOperation_t trans_a = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t trans_b = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  WEFT_CUBLAS_CALL(op, cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                      &trans_a, sizeof(trans_a)));
  WEFT_CUBLAS_CALL(op, cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                                      &trans_b, sizeof(trans_b)));
  const cublasLtEpilogue_t epilogue = lt_epilogue(p.epilogue);
  WEFT_CUBLAS_CALL(op, cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                      &epilogue, sizeof(epilogue)));
  if (uses_aux(p.epilogue)) {
    WEFT_CUBLAS_CALL(
        op, cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD,
                                           &p.ld_aux, sizeof(p.ld_aux)));
    if (p.batch > 1) {
      WEFT_CUBLAS_CALL(op, cublasLtMatmulDescSetAttribute(
                               plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE,
                               &p.stride_aux, sizeof(p.stride_aux)));
    }
  }
  set_pointers(op, *plan, p);

  cublasLtMatmulPreference_t raw_pref = nullptr;
  WEFT_CUBLAS_CALL(op, cublasLtMatmulPreferenceCreate(&raw_pref));
  const std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PreferenceDeleter> pref(raw_pref);
  const uint64_t workspace = ctx.workspace_bytes;
  WEFT_CUBLAS_CALL(
      op, cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace, sizeof(workspace)));
  // The alignment each operand keeps, for cuBLASLt to assume: its A is our b,
  // its B our a, its C and D both our c.
  const uint32_t align_c = alignment_of(p.c, p, p.stride_c);
  const std::array<std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t>, 4> alignments = {{
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, alignment_of(p.b, p, p.stride_b)},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, alignment_of(p.a, p, p.stride_a)},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c},
  }};
  for (const auto& [attribute, bytes] : alignments) {
    WEFT_CUBLAS_CALL(
        op, cublasLtMatmulPreferenceSetAttribute(raw_pref, attribute, &bytes, sizeof(bytes)));
  }

  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  const cublasStatus_t heuristic_status =
      cublasLtMatmulAlgoGetHeuristic(ctx.lt, plan->desc, plan->a_layout, plan->b_layout,
                                     plan->c_layout, plan->c_layout, raw_pref, 1, &result, &count);
  // Any failure of the heuristic (NOT_SUPPORTED for a combination without a
  // kernel, INVALID_VALUE for an alignment it will not take, ...) and zero
  // results alike: the caller falls back to the unfused path rather than fails.
  plan->found = heuristic_status == CUBLAS_STATUS_SUCCESS && count > 0 &&
                result.state == CUBLAS_STATUS_SUCCESS;
  if (plan->found) plan->algo = result.algo;
  return plan;
}

}  // namespace

bool try_lt_matmul(const char* op, const LtMatmul& p) {
  WEFT_CHECK(p.m > 0 && p.n > 0 && p.k > 0 && p.batch >= 1, "cuda ", op,
             ": lt_matmul needs positive sizes, got m ", p.m, ", n ", p.n, ", k ", p.k, ", batch ",
             p.batch);
  WEFT_CHECK(p.dtype == DType::F32 || p.dtype == DType::BF16, "cuda ", op,
             ": cuBLASLt matmuls run on f32 or bf16, got ", dtype_name(p.dtype));
  WEFT_CHECK(
      !p.f32_c || (p.dtype == DType::BF16 && p.batch == 1 &&
                   (p.epilogue == LtEpilogue::None || p.epilogue == LtEpilogue::BiasGradient)),
      "cuda ", op, ": an f32 c is for single bf16 products without an epilogue ",
      "but the bias gradient");
  WEFT_CHECK(p.epilogue != LtEpilogue::BiasGradient || (p.batch == 1 && p.alpha == 1.0f), "cuda ",
             op, ": the bias-gradient epilogue is for single products with alpha 1");
  if (p.epilogue != LtEpilogue::None && !epilogue_usable(p)) return false;
  Context& ctx = context(op);

  // One lock for the cache and for the descriptor's pointer attributes,
  // which each call rewrites: simulated ranks may share the device.
  static std::mutex mutex;
  static std::map<PlanKey, std::unique_ptr<Plan>> plans;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Plan>& plan = plans[key_of(p, ctx.tf32)];
  if (plan == nullptr) {
    plan = make_plan(op, p, ctx);
  } else {
    set_pointers(op, *plan, p);
  }
  if (!plan->found) return false;
  WEFT_CUBLAS_CALL(
      op, cublasLtMatmul(ctx.lt, plan->desc, &p.alpha, p.b, plan->a_layout, p.a, plan->b_layout,
                         &p.beta, p.c, plan->c_layout, p.c, plan->c_layout, &plan->algo,
                         ctx.workspace, ctx.workspace_bytes, ctx.compute));
  return true;
}

void lt_matmul(const char* op, const LtMatmul& p) {
  WEFT_CHECK(try_lt_matmul(op, p), "cuda ", op, ": cuBLASLt has no algorithm for ",
             dtype_name(p.dtype), " c(", p.m, "x", p.n, ") = op(a)·op(b) with k ", p.k,
             ", trans_a ", p.trans_a, ", trans_b ", p.trans_b, ", lda ", p.lda, ", ldb ", p.ldb,
             ", ldc ", p.ldc, ", batch ", p.batch, ", epilogue ", static_cast<int>(p.epilogue));
}

}  // namespace weft::cuda
