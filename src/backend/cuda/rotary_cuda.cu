// Rotary position embedding on the GPU: the functions of
// src/backend/cpu/rotary_cpu.cc. Each thread turns W pairs (i, i + Dh/2) of
// one row, taking their angles from backend/rotary_angle.h in f32 (powf, then
// sincosf, without fast-math intrinsics) as the CPU and transformers do, and
// rotating in f32. Pairs move 128 bits at a time when Dh/2 is a multiple of
// the pack and the tensors are aligned (elementwise_loop.cuh). out may alias
// in: a thread reads both halves of its pairs before it writes them.
//
//   in, out (B,T,H,Dh)

#include "backend/cuda/elementwise_loop.cuh"
#include "backend/kernels.h"
#include "backend/rotary_angle.h"

namespace weft::cuda {

namespace {

struct PowF {
  __host__ __device__ float operator()(float x, float y) const { return powf(x, y); }
};

// Pair k of n = rows·half: row k / half (at position start + row / heads mod
// t), pair index i = k mod half. sign −1 turns by −angle. Vector groups need
// half % W == 0, so a group lies within one row.
template <typename T>
struct Rotate {
  const T* in;
  T* out;
  int64_t t, heads, half, start;
  double theta;
  float sign;
  template <int W>
  __device__ __forceinline__ void operator()(int64_t k, Width<W>) const {
    const int64_t row = k / half, i = k - row * half;
    const int64_t p = start + row / heads % t;
    const int64_t lo = row * 2 * half + i;
    float a[W], b[W];
    load_floats<W>(in + lo, a);
    load_floats<W>(in + lo + half, b);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      const float inverse = rotary::inverse_frequency<float>(i + j, 2 * half, theta, PowF{});
      float s, c;
      sincosf(rotary::angle(p, inverse), &s, &c);
      s *= sign;
      const float first = a[j] * c - b[j] * s;
      b[j] = b[j] * c + a[j] * s;
      a[j] = first;
    }
    store_floats<W>(out + lo, a);
    store_floats<W>(out + lo + half, b);
  }
};

void rotary(const char* op, const Tensor& in, int64_t start, double theta, bool inverse,
            Tensor& out) {
  const int64_t t = in.dim(1), heads = in.dim(2), half = in.dim(3) / 2;
  const int64_t pairs = in.numel() / 2;
  if (pairs == 0) return;
  dispatch_floating(op, in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    constexpr int kPack = Packed<T>::size;
    const Rotate<T> rotate{.in = ptr<T>(in),
                           .out = ptr<T>(out),
                           .t = t,
                           .heads = heads,
                           .half = half,
                           .start = start,
                           .theta = theta,
                           .sign = inverse ? -1.0f : 1.0f};
    const bool vector = half % kPack == 0 && aligned16(rotate.in) && aligned16(rotate.out);
    launch_elementwise<kPack>(op, pairs, vector, rotate);
  });
}

}  // namespace

void rotary_forward(const Tensor& x, int64_t start, double theta, Tensor& y) {
  rotary("rotary_forward", x, start, theta, /*inverse=*/false, y);
}

void rotary_backward(const Tensor& dy, int64_t start, double theta, Tensor& dx) {
  rotary("rotary_backward", dy, start, theta, /*inverse=*/true, dx);
}

}  // namespace weft::cuda
