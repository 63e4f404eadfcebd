// Token embeddings and positions on the GPU. The backward scatter-adds are
// deterministic without atomics. embedding_backward groups the positions of
// each table row on the device: it sorts (row, position) pairs by row with
// CUB's radix sort, which is stable, so the positions of one row stay in
// increasing order; then the first position of every run of one row gets a
// block that adds the run's positions in that order, as the CPU kernel does.
// Nothing waits for the host. add_positions_backward gives every (position,
// column) one thread that walks the batch in order. The gradients they add
// into are the table's dtype or, as main gradients of a bf16 table, f32; the
// sums are f32 either way.
//
//   table (V, D)   ids (N) i32   out, dout (N, D)   x, dx (B, T, D)

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>

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

// keys[i] = the shard row of ids[i], or `sentinel` (above every row) when
// the id is outside [row_offset, row_offset + v); positions[i] = i.
struct ShardKeys {
  const int32_t* ids;
  int64_t row_offset, v;
  uint32_t sentinel;
  uint32_t* keys;
  int32_t* positions;
  __device__ __forceinline__ void operator()(int64_t i, Width<1>) const {
    const int64_t row = ids[i] - row_offset;
    keys[i] = (row >= 0 && row < v) ? static_cast<uint32_t>(row) : sentinel;
    positions[i] = static_cast<int32_t>(i);
  }
};

// dtable[row] += scale · dout[p] for the positions p of each row, in
// increasing order. rows, positions (n): the keys and positions sorted by
// row, positions of one row increasing. The block of the first position of
// a run of one row adds the whole run; the sentinel run (ids outside the
// shard) comes last and is skipped. Blocks stride over the n positions.
// W: kPackOfBoth<T, G> when d is a multiple of it and the tensors are aligned, else 1.
template <typename T, typename G, int W>
__global__ void embedding_backward_kernel(const T* dout, const uint32_t* rows,
                                          const int32_t* positions, int64_t n, uint32_t sentinel,
                                          float scale, int64_t d, G* dtable) {
  for (int64_t begin = blockIdx.x; begin < n; begin += gridDim.x) {
    const uint32_t row = rows[begin];
    if (row == sentinel || (begin > 0 && rows[begin - 1] == row)) continue;
    int64_t end = begin + 1;
    while (end < n && rows[end] == row) ++end;
    G* dst = dtable + static_cast<int64_t>(row) * d;
    for (int64_t c = static_cast<int64_t>(threadIdx.x) * W; c < d;
         c += static_cast<int64_t>(blockDim.x) * W) {
      float acc[W];
      load_floats<W>(dst + c, acc);
      for (int64_t j = begin; j < end; ++j) {
        float g[W];
        load_floats<W>(dout + static_cast<int64_t>(positions[j]) * d + c, g);
#pragma unroll
        for (int k = 0; k < W; ++k) acc[k] += scale * g[k];
      }
      store_floats<W>(dst + c, acc);
    }
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

// The positions of ids sorted by shard row: rows (n, increasing, the
// sentinel last) and positions (n, increasing within one row).
struct RowGroups {
  const uint32_t* rows;
  const int32_t* positions;
};

// Sorts the positions of ids by shard row on the compute stream; ids outside
// the shard get `sentinel`, above every row. Only the bits that `sentinel`
// needs take part in the sort. The result lives in scratch reused by the
// next call.
RowGroups group_positions_by_row(const Tensor& ids, int64_t row_offset, int64_t v,
                                 uint32_t sentinel, const char* op) {
  const int n = static_cast<int>(ids.numel());
  const int end_bit = std::bit_width(sentinel);
  const cudaStream_t s = stream(op);
  size_t temp_bytes = 0;
  WEFT_CUDA_CALL(op, cub::DeviceRadixSort::SortPairs(
                         nullptr, temp_bytes, static_cast<const uint32_t*>(nullptr),
                         static_cast<uint32_t*>(nullptr), static_cast<const int32_t*>(nullptr),
                         static_cast<int32_t*>(nullptr), n, 0, end_bit, s));
  // CUB's temporary storage, then keys, positions and both sorted (n each).
  const int64_t temp_words =
      ceil_div(static_cast<int64_t>(temp_bytes), static_cast<int64_t>(sizeof(int32_t)));
  thread_local Tensor scratch;
  Tensor::ensure(scratch, {temp_words + 4 * int64_t{n}}, DType::I32, Device::CUDA);
  int32_t* temp = ptr<int32_t>(scratch);
  uint32_t* keys = reinterpret_cast<uint32_t*>(temp + temp_words);
  int32_t* positions = temp + temp_words + n;
  uint32_t* sorted_keys = reinterpret_cast<uint32_t*>(positions + n);
  int32_t* sorted_positions = positions + 2 * int64_t{n};
  launch_elementwise<1>(op, n, /*vector=*/false,
                        ShardKeys{ptr<int32_t>(ids), row_offset, v, sentinel, keys, positions});
  WEFT_CUDA_CALL(op, cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys, sorted_keys, positions,
                                                     sorted_positions, n, 0, end_bit, s));
  return {sorted_keys, sorted_positions};
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
  // Rows are keys below the sentinel; ids are i32 and row_offset >= 0, so every
  // row is below 2^31 whatever v is.
  const uint32_t sentinel = static_cast<uint32_t>(std::min<int64_t>(v, int64_t{1} << 31));
  const RowGroups groups = group_positions_by_row(ids, row_offset, v, sentinel, op);
  const cudaStream_t s = stream(op);
  // Which positions start a run is known only on the device, so blocks
  // stride over all n of them, the grid capped as grid_for caps grid-stride
  // loops (32 blocks per SM, 4224 on an H100): a batch of 8192 ids gives a
  // block about two positions to look at, and a larger one does not launch
  // tens of thousands of blocks that mostly find no run to add.
  const unsigned blocks = grid_for(n, 1, op);
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
    const float sc = static_cast<float>(scale);
    if (vec) {
      embedding_backward_kernel<T, G, kPack>
          <<<blocks, threads, 0, s>>>(g, groups.rows, groups.positions, n, sentinel, sc, d, dt);
    } else {
      embedding_backward_kernel<T, G, 1>
          <<<blocks, threads, 0, s>>>(g, groups.rows, groups.positions, n, sentinel, sc, d, dt);
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
