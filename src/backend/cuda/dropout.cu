// Dropout on the GPU with the CPU kernel's mask: element (r, c) of the
// (rows, cols) view is kept iff uniform01(stream_key(seed, step, site), g) >= p,
// where g = (row_offset + r)·global_cols + col_offset + c is its index in the
// full activation. Same generator, same index, so the mask is bit-identical
// to the CPU's and backward regenerates the forward's mask.

#include <cstdint>

#include "backend/cuda/device_common.cuh"
#include "backend/kernels.h"
#include "weft/tensor/counter_rng.h"

namespace weft::cuda {

namespace {

constexpr int kThreads = 256;

struct Mask {
  uint64_t key;
  int64_t row_offset;
  int64_t global_cols;
  int64_t col_offset;
  double p;
  float keep_scale;  // 1 / (1 − p)
};

// out = in · keep / (1 − p) over n = rows · cols elements; out may alias in.
// kVec: cols is a multiple of the pack, so a pack lies within one row.
template <typename T, bool kVec>
__global__ void dropout_kernel(const T* in, T* out, int64_t n, int64_t cols, Mask mask) {
  constexpr int kW = kVec ? Packed<T>::size : 1;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = tid; g < n / kW; g += stride) {
    const int64_t i = g * kW;
    const int64_t r = i / cols, c = i - r * cols;
    const uint64_t index =
        static_cast<uint64_t>((mask.row_offset + r) * mask.global_cols + mask.col_offset + c);
    if constexpr (kVec) {
      Packed<T> pack = load_packed(in + i);
#pragma unroll
      for (int k = 0; k < kW; ++k) {
        const bool keep = static_cast<double>(rng::uniform01(mask.key, index + k)) >= mask.p;
        pack.set(k, keep ? pack.get(k) * mask.keep_scale : 0.0f);
      }
      store_packed(out + i, pack);
    } else {
      const bool keep = static_cast<double>(rng::uniform01(mask.key, index)) >= mask.p;
      out[i] = from_float<T>(keep ? to_float(in[i]) * mask.keep_scale : 0.0f);
    }
  }
}

void dropout_apply(const char* kernel, const Tensor& in, double p, const ops::DropoutSite& site,
                   Tensor& out) {
  const int64_t n = in.numel();
  if (n == 0) return;
  cudaStream_t s = stream(kernel);
  if (p == 0.0) {
    if (out.raw() != in.raw()) {
      WEFT_CUDA_CALL(
          kernel, cudaMemcpyAsync(out.raw(), in.raw(), in.nbytes(), cudaMemcpyDeviceToDevice, s));
    }
    return;
  }
  const int64_t cols = in.dim(-1);
  if (cols == 0) return;
  const Mask mask{rng::stream_key(site.seed, site.step, site.site),
                  site.row_offset,
                  site.global_cols == 0 ? cols : site.global_cols,
                  site.col_offset,
                  p,
                  static_cast<float>(1.0 / (1.0 - p))};
  dispatch_floating(kernel, in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = ptr<T>(in);
    T* y = ptr<T>(out);
    const bool vec = cols % Packed<T>::size == 0 && aligned16(x) && aligned16(y);
    const unsigned blocks = grid_for(vec ? n / Packed<T>::size : n, kThreads, kernel);
    if (vec) {
      dropout_kernel<T, true><<<blocks, kThreads, 0, s>>>(x, y, n, cols, mask);
    } else {
      dropout_kernel<T, false><<<blocks, kThreads, 0, s>>>(x, y, n, cols, mask);
    }
    WEFT_LAUNCH_CHECK(kernel);
  });
}

}  // namespace

void dropout_forward(const Tensor& x, double p, const ops::DropoutSite& site, Tensor& y) {
  dropout_apply("dropout_forward", x, p, site, y);
}

void dropout_backward(const Tensor& dy, double p, const ops::DropoutSite& site, Tensor& dx) {
  dropout_apply("dropout_backward", dy, p, site, dx);
}

}  // namespace weft::cuda
