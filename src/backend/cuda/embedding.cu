// Token embeddings and positions on the GPU. The backward scatter-adds are
// deterministic without atomics: embedding_backward groups the positions of
// each table row on the host (ids are small) and gives every touched row one
// block that adds its positions in increasing order, as the CPU kernel does;
// add_positions_backward gives every (position, column) one thread that walks
// the batch in order.
//
//   table (V, D)   ids (N) i32   out, dout (N, D)   x, dx (B, T, D)

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// kW consecutive elements as floats: one 128-bit access when kW is the pack.
template <typename T, int kW>
struct Floats {
  float v[kW];
  __device__ __forceinline__ void load(const T* p) {
    if constexpr (kW == 1) {
      v[0] = to_float(*p);
    } else {
      const Packed<T> pack = load_packed(p);
#pragma unroll
      for (int k = 0; k < kW; ++k) v[k] = pack.get(k);
    }
  }
  __device__ __forceinline__ void store(T* p) const {
    if constexpr (kW == 1) {
      *p = from_float<T>(v[0]);
    } else {
      Packed<T> pack;
#pragma unroll
      for (int k = 0; k < kW; ++k) pack.set(k, v[k]);
      store_packed(p, pack);
    }
  }
};

template <typename T, bool kVec>
constexpr int width() {
  return kVec ? Packed<T>::size : 1;
}

// out[i] = scale · table[ids[i] − row_offset], or 0 when the id is outside
// the shard's rows [row_offset, row_offset + v). kVec: d is a multiple of the pack.
template <typename T, bool kVec>
__global__ void embedding_forward_kernel(const T* table, const int32_t* ids, float scale,
                                         int64_t row_offset, int64_t v, int64_t n, int64_t d,
                                         T* out) {
  constexpr int kW = width<T, kVec>();
  const int64_t per_row = d / kW;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = tid; g < n * per_row; g += stride) {
    const int64_t i = g / per_row, c = (g - i * per_row) * kW;
    const int64_t row = ids[i] - row_offset;
    Floats<T, kW> values;
    if (row >= 0 && row < v) {
      values.load(table + row * d + c);
#pragma unroll
      for (int k = 0; k < kW; ++k) values.v[k] *= scale;
    } else {
#pragma unroll
      for (int k = 0; k < kW; ++k) values.v[k] = 0.0f;
    }
    values.store(out + i * d + c);
  }
}

// One block per touched row: dtable[rows[b]] += scale · dout[p] for the
// positions p of that row, in increasing order. `groups` holds, one after
// the other, rows (touched), starts (touched + 1) and positions (starts[touched]).
template <typename T, bool kVec>
__global__ void embedding_backward_kernel(const T* dout, const int32_t* groups, int64_t touched,
                                          float scale, int64_t d, T* dtable) {
  constexpr int kW = width<T, kVec>();
  const int32_t* rows = groups;
  const int32_t* starts = groups + touched;
  const int32_t* positions = starts + touched + 1;
  const int64_t row = rows[blockIdx.x];
  const int32_t begin = starts[blockIdx.x], end = starts[blockIdx.x + 1];
  T* dst = dtable + row * d;
  for (int64_t c = static_cast<int64_t>(threadIdx.x) * kW; c < d;
       c += static_cast<int64_t>(blockDim.x) * kW) {
    Floats<T, kW> acc;
    acc.load(dst + c);
    for (int32_t j = begin; j < end; ++j) {
      Floats<T, kW> g;
      g.load(dout + static_cast<int64_t>(positions[j]) * d + c);
#pragma unroll
      for (int k = 0; k < kW; ++k) acc.v[k] += scale * g.v[k];
    }
    acc.store(dst + c);
  }
}

// x[b, t] += table[t] for every b: element i of x takes element i mod (T·D)
// of the table's rows from `start`. kVec: T·D is a multiple of the pack.
template <typename T, bool kVec>
__global__ void add_positions_kernel(const T* table, T* x, int64_t n, int64_t td) {
  constexpr int kW = width<T, kVec>();
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = tid; g < n / kW; g += stride) {
    const int64_t i = g * kW;
    Floats<T, kW> xs, ts;
    xs.load(x + i);
    ts.load(table + i % td);
#pragma unroll
    for (int k = 0; k < kW; ++k) xs.v[k] += ts.v[k];
    xs.store(x + i);
  }
}

// dtable[j] += Σ_b dx[b·T·D + j] for j in [0, T·D), b in order.
template <typename T, bool kVec>
__global__ void add_positions_backward_kernel(const T* dx, int64_t batch, int64_t td, T* dtable) {
  constexpr int kW = width<T, kVec>();
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = tid; g < td / kW; g += stride) {
    const int64_t j = g * kW;
    Floats<T, kW> acc;
    acc.load(dtable + j);
    for (int64_t b = 0; b < batch; ++b) {
      Floats<T, kW> d;
      d.load(dx + b * td + j);
#pragma unroll
      for (int k = 0; k < kW; ++k) acc.v[k] += d.v[k];
    }
    acc.store(dtable + j);
  }
}

// table[p, 2i] = sin(p / 10000^(2i/D)), table[p, 2i+1] = cos(the same angle),
// in double as on the CPU.
template <typename T>
__global__ void sinusoidal_kernel(T* table, int64_t rows, int64_t d) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * d;
       i += stride) {
    const int64_t p = i / d, j = i - p * d;
    const double pair = static_cast<double>(j - j % 2);
    const double angle = static_cast<double>(p) / pow(10000.0, pair / static_cast<double>(d));
    table[i] = from_float<T>(static_cast<float>(j % 2 == 0 ? sin(angle) : cos(angle)));
  }
}

// The positions of each shard row among ids, in the layout the backward
// kernel reads: rows (touched, increasing), starts (touched + 1), positions.
// Returns the number of touched rows; `groups` is rebuilt in place.
int64_t group_positions_by_row(const std::vector<int32_t>& ids, int64_t row_offset, int64_t v,
                               std::vector<int32_t>& counts, std::vector<int32_t>& groups) {
  counts.assign(static_cast<size_t>(v), 0);
  int64_t in_shard = 0;
  for (const int32_t id : ids) {
    const int64_t row = id - row_offset;
    if (row >= 0 && row < v) {
      ++counts[static_cast<size_t>(row)];
      ++in_shard;
    }
  }
  int64_t touched = 0;
  for (const int32_t count : counts) touched += count > 0;
  groups.resize(static_cast<size_t>(2 * touched + 1 + in_shard));
  int32_t* rows = groups.data();
  int32_t* starts = rows + touched;
  int32_t* positions = starts + touched + 1;
  // counts[row] becomes the row's next free slot among the positions.
  int32_t next = 0;
  int64_t t = 0;
  for (int64_t row = 0; row < v; ++row) {
    const int32_t count = counts[static_cast<size_t>(row)];
    if (count == 0) continue;
    rows[t] = static_cast<int32_t>(row);
    starts[t] = next;
    counts[static_cast<size_t>(row)] = next;
    next += count;
    ++t;
  }
  starts[touched] = next;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t row = ids[i] - row_offset;
    if (row >= 0 && row < v) {
      positions[counts[static_cast<size_t>(row)]++] = static_cast<int32_t>(i);
    }
  }
  return touched;
}

}  // namespace

void embedding_forward(const Tensor& table, const Tensor& ids, double scale, int64_t row_offset,
                       Tensor& out) {
  const int64_t n = ids.numel(), v = table.dim(0), d = table.dim(1);
  if (n == 0 || d == 0) return;
  dispatch_floating("embedding_forward", table.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* t = ptr<T>(table);
    T* o = ptr<T>(out);
    const bool vec = d % Packed<T>::size == 0 && aligned16(t) && aligned16(o);
    const unsigned blocks =
        grid_for(vec ? n * d / Packed<T>::size : n * d, kThreads, "embedding_forward");
    cudaStream_t s = stream("embedding_forward");
    const float sc = static_cast<float>(scale);
    const int32_t* id = ptr<int32_t>(ids);
    if (vec) {
      embedding_forward_kernel<T, true>
          <<<blocks, kThreads, 0, s>>>(t, id, sc, row_offset, v, n, d, o);
    } else {
      embedding_forward_kernel<T, false>
          <<<blocks, kThreads, 0, s>>>(t, id, sc, row_offset, v, n, d, o);
    }
    WEFT_LAUNCH_CHECK("embedding_forward");
  });
}

void embedding_backward(const Tensor& dout, const Tensor& ids, double scale, int64_t row_offset,
                        Tensor& dtable) {
  const char* op = "embedding_backward";
  const int64_t n = ids.numel(), v = dtable.dim(0), d = dtable.dim(1);
  if (n == 0 || v == 0 || d == 0) return;
  WEFT_CHECK(n <= INT32_MAX, "cuda ", op, ": ids has ", n,
             " elements; positions are grouped as i32, so at most 2^31 - 1 are supported");
  cudaStream_t s = stream(op);
  thread_local std::vector<int32_t> host_ids, counts, host_groups;
  host_ids.resize(static_cast<size_t>(n));
  WEFT_CUDA_CALL(
      op, cudaMemcpyAsync(host_ids.data(), ids.raw(), ids.nbytes(), cudaMemcpyDeviceToHost, s));
  // Also retires the previous call's upload from host_groups before it is rebuilt.
  WEFT_CUDA_CALL(op, cudaStreamSynchronize(s));
  const int64_t touched = group_positions_by_row(host_ids, row_offset, v, counts, host_groups);
  if (touched == 0) return;
  thread_local Tensor device_groups;
  Tensor::ensure(device_groups, {static_cast<int64_t>(host_groups.size())}, DType::I32,
                 Device::CUDA);
  WEFT_CUDA_CALL(op,
                 cudaMemcpyAsync(device_groups.raw(), host_groups.data(),
                                 host_groups.size() * sizeof(int32_t), cudaMemcpyHostToDevice, s));
  dispatch_floating(op, dtable.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* g = ptr<T>(dout);
    T* dt = ptr<T>(dtable);
    const bool vec = d % Packed<T>::size == 0 && aligned16(g) && aligned16(dt);
    const int64_t per_row = vec ? d / Packed<T>::size : d;
    // Enough threads for one pass over the row, in whole warps, at most kThreads.
    const int threads = static_cast<int>(std::min<int64_t>(kThreads, (per_row + 31) / 32 * 32));
    const unsigned blocks = static_cast<unsigned>(touched);
    const float sc = static_cast<float>(scale);
    const int32_t* groups = ptr<int32_t>(device_groups);
    if (vec) {
      embedding_backward_kernel<T, true><<<blocks, threads, 0, s>>>(g, groups, touched, sc, d, dt);
    } else {
      embedding_backward_kernel<T, false><<<blocks, threads, 0, s>>>(g, groups, touched, sc, d, dt);
    }
    WEFT_LAUNCH_CHECK(op);
  });
}

void add_positions(const Tensor& table, int64_t start, Tensor& x) {
  const int64_t n = x.numel(), td = x.dim(1) * x.dim(2);
  if (n == 0) return;
  dispatch_floating("add_positions", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* rows = ptr<T>(table) + start * x.dim(2);
    T* out = ptr<T>(x);
    const bool vec = td % Packed<T>::size == 0 && aligned16(rows) && aligned16(out);
    const unsigned blocks = grid_for(vec ? n / Packed<T>::size : n, kThreads, "add_positions");
    cudaStream_t s = stream("add_positions");
    if (vec) {
      add_positions_kernel<T, true><<<blocks, kThreads, 0, s>>>(rows, out, n, td);
    } else {
      add_positions_kernel<T, false><<<blocks, kThreads, 0, s>>>(rows, out, n, td);
    }
    WEFT_LAUNCH_CHECK("add_positions");
  });
}

void add_positions_backward(const Tensor& dx, int64_t start, Tensor& dtable) {
  const int64_t batch = dx.dim(0), td = dx.dim(1) * dx.dim(2);
  if (batch == 0 || td == 0) return;
  dispatch_floating("add_positions_backward", dx.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* in = ptr<T>(dx);
    T* rows = ptr<T>(dtable) + start * dx.dim(2);
    const bool vec = td % Packed<T>::size == 0 && aligned16(in) && aligned16(rows);
    const unsigned blocks =
        grid_for(vec ? td / Packed<T>::size : td, kThreads, "add_positions_backward");
    cudaStream_t s = stream("add_positions_backward");
    if (vec) {
      add_positions_backward_kernel<T, true><<<blocks, kThreads, 0, s>>>(in, batch, td, rows);
    } else {
      add_positions_backward_kernel<T, false><<<blocks, kThreads, 0, s>>>(in, batch, td, rows);
    }
    WEFT_LAUNCH_CHECK("add_positions_backward");
  });
}

void sinusoidal_positions(Tensor& table) {
  const int64_t rows = table.dim(0), d = table.dim(1);
  if (rows * d == 0) return;
  dispatch_floating("sinusoidal_positions", table.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const unsigned blocks = grid_for(rows * d, kThreads, "sinusoidal_positions");
    sinusoidal_kernel<T>
        <<<blocks, kThreads, 0, stream("sinusoidal_positions")>>>(ptr<T>(table), rows, d);
    WEFT_LAUNCH_CHECK("sinusoidal_positions");
  });
}

}  // namespace weft::cuda
