// Token embeddings and positions on the GPU. The backward scatter-adds are
// deterministic without atomics: embedding_backward groups the positions of
// each table row on the host (ids are small) and gives every touched row one
// block that adds its positions in increasing order, as the CPU kernel does;
// add_positions_backward gives every (position, column) one thread that walks
// the batch in order. The gradients they add into are the table's dtype or,
// as main gradients of a bf16 table, f32; the sums are f32 either way.
//
//   table (V, D)   ids (N) i32   out, dout (N, D)   x, dx (B, T, D)

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"
#include "backend/sinusoid.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

// out (n, d) row i = scale · table[ids[i] − row_offset], or 0 when the id is
// outside the shard's rows [row_offset, row_offset + v). Vector groups need
// d % Packed<T>::size == 0, so a group lies within one row.
template <typename T>
struct Lookup {
  const T* table;
  const int32_t* ids;
  float scale;
  int64_t row_offset, v, d;
  T* out;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    const int64_t position = i / d, c = i - position * d;
    const int64_t row = ids[position] - row_offset;
    float values[W];
    if (row >= 0 && row < v) {
      load_floats<W>(table + row * d + c, values);
#pragma unroll
      for (int k = 0; k < W; ++k) values[k] *= scale;
    } else {
#pragma unroll
      for (int k = 0; k < W; ++k) values[k] = 0.0f;
    }
    store_floats<W>(out + i, values);
  }
};

// One block per touched row: dtable[rows[b]] += scale · dout[p] for the
// positions p of that row, in increasing order. `groups` holds, one after
// the other, rows (touched), starts (touched + 1) and positions (starts[touched]).
// W: kPackOfBoth<T, G> when d is a multiple of it and the tensors are aligned, else 1.
template <typename T, typename G, int W>
__global__ void embedding_backward_kernel(const T* dout, const int32_t* groups, int64_t touched,
                                          float scale, int64_t d, G* dtable) {
  const int32_t* rows = groups;
  const int32_t* starts = groups + touched;
  const int32_t* positions = starts + touched + 1;
  const int64_t row = rows[blockIdx.x];
  const int32_t begin = starts[blockIdx.x], end = starts[blockIdx.x + 1];
  G* dst = dtable + row * d;
  for (int64_t c = static_cast<int64_t>(threadIdx.x) * W; c < d;
       c += static_cast<int64_t>(blockDim.x) * W) {
    float acc[W];
    load_floats<W>(dst + c, acc);
    for (int32_t j = begin; j < end; ++j) {
      float g[W];
      load_floats<W>(dout + static_cast<int64_t>(positions[j]) * d + c, g);
#pragma unroll
      for (int k = 0; k < W; ++k) acc[k] += scale * g[k];
    }
    store_floats<W>(dst + c, acc);
  }
}

// dtable[j] += Σ_b dx[b·T·D + j] for j in [0, T·D), b in order.
template <typename T, typename G>
struct SumOverBatch {
  const T* dx;
  int64_t batch, td;
  G* dtable;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t j, Width<W>) const {
    float acc[W];
    load_floats<W>(dtable + j, acc);
    for (int64_t b = 0; b < batch; ++b) {
      float d[W];
      load_floats<W>(dx + b * td + j, d);
#pragma unroll
      for (int k = 0; k < W; ++k) acc[k] += d[k];
    }
    store_floats<W>(dtable + j, acc);
  }
};

// table[p, j] = sin or cos of p / 10000^(2i/D), i and which as the layout
// says (backend/sinusoid.h), in double as on the CPU.
struct PowD {
  __host__ __device__ double operator()(double x, double y) const { return pow(x, y); }
};

template <typename T>
__global__ void sinusoidal_kernel(T* table, int64_t rows, int64_t d, bool halves) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * d;
       i += stride) {
    const int64_t p = i / d, j = i - p * d;
    const sinusoid::Column c = sinusoid::column(j, d, halves);
    const double angle = sinusoid::angle(p, c.i, d, PowD{});
    table[i] = from_float<T>(static_cast<float>(c.sine ? sin(angle) : cos(angle)));
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
    const Lookup<T> lookup{ptr<T>(table), ptr<int32_t>(ids), static_cast<float>(scale),
                           row_offset, v, d, ptr<T>(out)};
    const bool vec = d % Packed<T>::size == 0 && aligned16(lookup.table) && aligned16(lookup.out);
    launch_elementwise<Packed<T>::size>("embedding_forward", n * d, vec, lookup);
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
  dispatch_floating_with_companion(op, dout.dtype(), dtable.dtype(), [&](auto zero, auto grad) {
    using T = decltype(zero);
    using G = decltype(grad);
    constexpr int kPack = kPackOfBoth<T, G>;
    const T* g = ptr<T>(dout);
    G* dt = ptr<G>(dtable);
    const bool vec = d % kPack == 0 && aligned16(g) && aligned16(dt);
    const int64_t per_row = vec ? d / kPack : d;
    // Enough threads for one pass over the row, in whole warps, at most kThreads.
    const int threads = static_cast<int>(std::min<int64_t>(kThreads, (per_row + 31) / 32 * 32));
    const unsigned blocks = static_cast<unsigned>(touched);
    const float sc = static_cast<float>(scale);
    const int32_t* groups = ptr<int32_t>(device_groups);
    if (vec) {
      embedding_backward_kernel<T, G, kPack>
          <<<blocks, threads, 0, s>>>(g, groups, touched, sc, d, dt);
    } else {
      embedding_backward_kernel<T, G, 1><<<blocks, threads, 0, s>>>(g, groups, touched, sc, d, dt);
    }
    WEFT_LAUNCH_CHECK(op);
  });
}

void add_positions(const Tensor& table, int64_t start, Tensor& x) {
  const int64_t n = x.numel(), td = x.dim(1) * x.dim(2);
  if (n == 0) return;
  dispatch_floating("add_positions", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_add_repeating("add_positions", ptr<T>(table) + start * x.dim(2), td, ptr<T>(x), n);
  });
}

void add_positions_backward(const Tensor& dx, int64_t start, Tensor& dtable) {
  const char* op = "add_positions_backward";
  const int64_t batch = dx.dim(0), td = dx.dim(1) * dx.dim(2);
  if (batch == 0 || td == 0) return;
  dispatch_floating_with_companion(op, dx.dtype(), dtable.dtype(), [&](auto zero, auto grad) {
    using T = decltype(zero);
    using G = decltype(grad);
    constexpr int kPack = kPackOfBoth<T, G>;
    const SumOverBatch<T, G> over_batch{ptr<T>(dx), batch, td, ptr<G>(dtable) + start * dx.dim(2)};
    const bool vec = td % kPack == 0 && aligned16(over_batch.dx) && aligned16(over_batch.dtable);
    launch_elementwise<kPack>(op, td, vec, over_batch);
  });
}

void sinusoidal_positions(Tensor& table, ops::SinusoidLayout layout) {
  const int64_t rows = table.dim(0), d = table.dim(1);
  if (rows * d == 0) return;
  const bool halves = layout == ops::SinusoidLayout::Halves;
  dispatch_floating("sinusoidal_positions", table.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const unsigned blocks = grid_for(rows * d, kThreads, "sinusoidal_positions");
    sinusoidal_kernel<T>
        <<<blocks, kThreads, 0, stream("sinusoidal_positions")>>>(ptr<T>(table), rows, d, halves);
    WEFT_LAUNCH_CHECK("sinusoidal_positions");
  });
}

}  // namespace weft::cuda
