// AdamW on CUDA: the update of src/backend/cpu/adamw_cpu.cc, in f32 per
// element:
//   g = grad_scale·grad,   m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g·g
//   w = w·(1 − lr·wd) − (lr/bc1)·m / (sqrt(v)/sqrt(bc2) + eps)
// The weights w are the param itself, or its f32 master copy; the param then
// receives w rounded to its dtype. Five layouts (param/grad · m/v):
// f32·f32, bf16·bf16, and with a master f32·f32 or bf16·f32, the last with
// a bf16 grad or an f32 one (a main gradient: param bf16, grad f32).
//
// adamw_update_many updates every tensor of its list in one launch. Each
// tensor is cut into chunks of kChunk elements and each block updates one
// chunk; a block finds its tensor by binary search over the tensors' first
// chunk numbers in a descriptor table in device memory. Steady-state
// training passes the same list every step, so the table is uploaded only
// when it changes.

#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kVec = 8;  // elements per vector access: one bf16 pack or two f32 packs
constexpr int64_t kChunk = kThreads * kVec * 4;

enum Layout : int32_t { kF32, kBF16, kMasterF32, kMasterBF16, kMasterBF16GradF32 };

// One tensor of the update. Every field is set on the host, so equal tables
// hold equal bytes (compared with memcmp; the struct has no padding).
struct TensorDesc {
  void* param;
  const void* grad;
  void* m;
  void* v;
  float* master;  // null without a master copy
  int64_t numel;
  int64_t first_chunk;  // chunks of the tensors before this one
  double weight_decay;
  int32_t layout;
  int32_t packed;  // every pointer 16-byte aligned: vector accesses
};
static_assert(sizeof(TensorDesc) == 5 * sizeof(void*) + 3 * 8 + 2 * 4, "no padding");

// The step's scalars, rounded to f32 as the CPU kernel rounds them; lr stays
// double for the per-tensor decay factor 1 − lr·wd.
struct StepConstants {
  double lr;
  float step_size;  // lr / (1 − β1^t)
  float bc2_sqrt;   // sqrt(1 − β2^t)
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, grad_scale;
};

StepConstants constants_of(const ops::AdamWStep& s) {
  const double t = static_cast<double>(s.step);
  StepConstants c{};
  c.lr = s.lr;
  c.step_size = static_cast<float>(s.lr / (1.0 - std::pow(s.beta1, t)));
  c.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(s.beta2, t)));
  c.beta1 = static_cast<float>(s.beta1);
  c.beta2 = static_cast<float>(s.beta2);
  c.one_minus_beta1 = static_cast<float>(1.0 - s.beta1);
  c.one_minus_beta2 = static_cast<float>(1.0 - s.beta2);
  c.eps = static_cast<float>(s.eps);
  c.grad_scale = static_cast<float>(s.grad_scale);
  return c;
}

// One element: updates m and v, returns the new weight.
__device__ __forceinline__ float adamw_step(float w, float grad, float& m, float& v, float decay,
                                            const StepConstants& c) {
  const float g = c.grad_scale * grad;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * g * g;
  return w * decay - c.step_size * m / (sqrtf(v) / c.bc2_sqrt + c.eps);
}

// Elements [begin, end) of tensor t, by the whole block: kVec at a time when
// the pointers are aligned, else one at a time. P: param; G: grad; S: m and
// v. begin is a multiple of kVec, so vector accesses stay aligned.
template <typename P, typename G, typename S, bool kMaster>
__device__ void update_range(const TensorDesc& t, int64_t begin, int64_t end,
                             const StepConstants& c) {
  P* param = static_cast<P*>(t.param) + begin;
  const G* grad = static_cast<const G*>(t.grad) + begin;
  S* m = static_cast<S*>(t.m) + begin;
  S* v = static_cast<S*>(t.v) + begin;
  float* master = t.master != nullptr ? t.master + begin : nullptr;
  const float decay = static_cast<float>(1.0 - c.lr * t.weight_decay);
  const int64_t n = end - begin;
  for_block_range<kVec>(t.packed ? 0 : n, n, [&](int64_t i, auto width) {
    constexpr int W = decltype(width)::value;
    float w[W], g[W], mv[W], vv[W];
    if constexpr (kMaster) {
      load_floats<W>(master + i, w);
    } else {
      load_floats<W>(param + i, w);
    }
    load_floats<W>(grad + i, g);
    load_floats<W>(m + i, mv);
    load_floats<W>(v + i, vv);
#pragma unroll
    for (int k = 0; k < W; ++k) w[k] = adamw_step(w[k], g[k], mv[k], vv[k], decay, c);
    store_floats<W>(m + i, mv);
    store_floats<W>(v + i, vv);
    if constexpr (kMaster) store_floats<W>(master + i, w);
    store_floats<W>(param + i, w);
  });
}

// Chunk `chunk` (0-based within the tensor) of t, by the whole block.
__device__ void update_chunk(const TensorDesc& t, int64_t chunk, const StepConstants& c) {
  const int64_t begin = chunk * kChunk;
  const int64_t end = t.numel < begin + kChunk ? t.numel : begin + kChunk;
  switch (t.layout) {
    case kF32:
      update_range<float, float, float, false>(t, begin, end, c);
      break;
    case kBF16:
      update_range<bf16, bf16, bf16, false>(t, begin, end, c);
      break;
    case kMasterF32:
      update_range<float, float, float, true>(t, begin, end, c);
      break;
    case kMasterBF16:
      update_range<bf16, bf16, float, true>(t, begin, end, c);
      break;
    case kMasterBF16GradF32:
      update_range<bf16, float, float, true>(t, begin, end, c);
      break;
  }
}

// One block per chunk of t.
__global__ void adamw_kernel(TensorDesc t, StepConstants c) {
  update_chunk(t, blockIdx.x, c);
}

// table (count): tensors with at least one chunk, first_chunk increasing;
// one block per chunk of all of them.
__global__ void adamw_many_kernel(const TensorDesc* table, int count, StepConstants c) {
  const int64_t chunk = blockIdx.x;
  // The last tensor whose first chunk is at or before this block's.
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table[mid].first_chunk <= chunk) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const TensorDesc t = table[lo];
  update_chunk(t, chunk - t.first_chunk, c);
}

int64_t chunks_of(int64_t numel) {
  return (numel + kChunk - 1) / kChunk;
}

TensorDesc descriptor_of(const char* op, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                         Tensor* master, double weight_decay) {
  const bool bf16_param = param.dtype() == DType::BF16;
  WEFT_CHECK(bf16_param || param.dtype() == DType::F32, "cuda ", op, ": unsupported dtype ",
             dtype_name(param.dtype()), " of ", param.describe(),
             " (the CUDA backend stores f32 and bf16)");
  // The layout is chosen here, not by the kernel: a grad it would misread is refused.
  const bool f32_grad = grad.dtype() == DType::F32;
  WEFT_CHECK(grad.dtype() == param.dtype() || (f32_grad && master != nullptr), "cuda ", op,
             ": grad ", grad.describe(), " of param ", param.describe(),
             " must have the param's dtype, or be f32 beside an f32 master copy");
  TensorDesc t{};
  t.param = param.raw();
  t.grad = grad.raw();
  t.m = m.raw();
  t.v = v.raw();
  t.master = master != nullptr ? static_cast<float*>(master->raw()) : nullptr;
  t.numel = param.numel();
  t.weight_decay = weight_decay;
  if (master != nullptr) {
    t.layout = !bf16_param ? kMasterF32 : f32_grad ? kMasterBF16GradF32 : kMasterBF16;
  } else {
    t.layout = bf16_param ? kBF16 : kF32;
  }
  t.packed = aligned16(t.param) && aligned16(t.grad) && aligned16(t.m) && aligned16(t.v) &&
             (t.master == nullptr || aligned16(t.master));
  return t;
}

void check_grid(const char* op, int64_t chunks) {
  WEFT_CHECK(chunks <= INT_MAX, "cuda ", op, ": ", chunks * kChunk,
             " elements are too many for one launch");
}

// The device copy of the last descriptor table, per host thread (simulated
// ranks each run their own optimizer).
struct TableCache {
  std::vector<TensorDesc> host;
  Tensor device;
};

// The device address of `table`, uploading it when it differs from the
// cached one. The upload waits for its copy, so the host table can go as
// soon as it returns; it happens only when the list of tensors changes.
const TensorDesc* upload(const char* op, std::vector<TensorDesc>& table) {
  thread_local TableCache cache;
  const size_t bytes = table.size() * sizeof(TensorDesc);
  if (table.size() != cache.host.size() ||
      std::memcmp(table.data(), cache.host.data(), bytes) != 0) {
    Tensor::ensure(cache.device, {static_cast<int64_t>(bytes / sizeof(int32_t))}, DType::I32,
                   Device::CUDA);
    const cudaStream_t s = stream(op);
    WEFT_CUDA_CALL(
        op, cudaMemcpyAsync(cache.device.raw(), table.data(), bytes, cudaMemcpyHostToDevice, s));
    WEFT_CUDA_CALL(op, cudaStreamSynchronize(s));
    cache.host.swap(table);
  }
  return static_cast<const TensorDesc*>(cache.device.raw());
}

}  // namespace

void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                  const ops::AdamWStep& s) {
  const char* op = "adamw_update";
  const TensorDesc t = descriptor_of(op, param, grad, m, v, nullptr, s.weight_decay);
  const int64_t chunks = chunks_of(t.numel);
  if (chunks == 0) return;
  check_grid(op, chunks);
  adamw_kernel<<<static_cast<unsigned>(chunks), kThreads, 0, stream(op)>>>(t, constants_of(s));
  WEFT_LAUNCH_CHECK(op);
}

void adamw_update_many(const std::vector<ops::AdamWTensor>& tensors, const ops::AdamWStep& s) {
  const char* op = "adamw_update_many";
  std::vector<TensorDesc> table;
  table.reserve(tensors.size());
  int64_t chunks = 0;
  for (const ops::AdamWTensor& entry : tensors) {
    TensorDesc t = descriptor_of(op, *entry.param, *entry.grad, *entry.m, *entry.v, entry.master,
                                 entry.weight_decay);
    if (t.numel == 0) continue;  // no chunk: the binary search needs increasing first chunks
    t.first_chunk = chunks;
    chunks += chunks_of(t.numel);
    table.push_back(t);
  }
  if (chunks == 0) return;
  check_grid(op, chunks);
  WEFT_CHECK(table.size() <= static_cast<size_t>(INT_MAX), "cuda ", op, ": ", table.size(),
             " tensors are too many for one launch");
  const int count = static_cast<int>(table.size());
  const TensorDesc* device_table = upload(op, table);
  adamw_many_kernel<<<static_cast<unsigned>(chunks), kThreads, 0, stream(op)>>>(device_table, count,
                                                                                constants_of(s));
  WEFT_LAUNCH_CHECK(op);
}

}  // namespace weft::cuda
