// Dropout on the GPU with the CPU kernel's mask: element (r, c) of the
// (rows, cols) view is kept iff uniform01(stream_key(seed, step, site), g) >= p,
// where g = dropout_global_row(site, r)·global_cols + col_offset + c is its
// index in the full activation. Same generator, same index, so the mask is
// bit-identical to the CPU's and backward regenerates the forward's mask.

#include <cstdint>

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"
#include "weft/tensor/counter_rng.h"

namespace weft::cuda {

namespace {

// out = in · keep / (1 − p) over the (rows, cols) view; out may alias in.
// Vector groups need cols % Packed<T>::size == 0, so a group lies within one
// row and its mask indices are consecutive.
template <typename T>
struct DropoutMask {
  const T* in;
  T* out;
  int64_t cols;
  uint64_t key;
  ops::DropoutSite site;
  int64_t global_cols;
  uint32_t threshold;  // kept iff the element's 24 random bits reach it (uniform01 >= p)
  float keep_scale;    // 1 / (1 − p)
  template <int W>
  __device__ __forceinline__ void operator()(int64_t i, Width<W>) const {
    const int64_t r = i / cols, c = i - r * cols;
    const uint64_t index = static_cast<uint64_t>(ops::dropout_global_row(site, r) * global_cols +
                                                 site.col_offset + c);
    float v[W];
    load_floats<W>(in + i, v);
#pragma unroll
    for (int k = 0; k < W; ++k) {
      const bool keep = rng::uniform_bits24(key, index + k) >= threshold;
      v[k] = keep ? v[k] * keep_scale : 0.0f;
    }
    store_floats<W>(out + i, v);
  }
};

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
  dispatch_floating(kernel, in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const DropoutMask<T> mask{ptr<T>(in),
                              ptr<T>(out),
                              cols,
                              rng::stream_key(site.seed, site.step, site.site),
                              site,
                              site.global_cols == 0 ? cols : site.global_cols,
                              rng::uniform_bits24_threshold(p),
                              static_cast<float>(1.0 / (1.0 - p))};
    const bool vec = cols % Packed<T>::size == 0 && aligned16(mask.in) && aligned16(mask.out);
    launch_elementwise<Packed<T>::size>(kernel, n, vec, mask);
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
