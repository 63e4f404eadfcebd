// Dropout with a counter-based mask: element (r, c) of the (rows, cols) view
// is kept iff uniform01(stream_key(seed, step, site), g) >= p, where
// g = dropout_global_row(site, r)·global_cols + col_offset + c is its index in
// the full activation. The mask is recomputed, never stored, so backward regenerates
// exactly the forward's mask and the layout cannot change it.

#include <cstring>

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"
#include "weft/tensor/counter_rng.h"

namespace weft::cpu {

namespace {

// out = in · keep / (1 − p); out may alias in. S is the stored type (bf16:
// its bits), scaled in Arith<S>::type.
template <typename S>
void dropout_impl(const S* in, S* out, int64_t rows, int64_t cols, double p,
                  const ops::DropoutSite& site) {
  const uint64_t key = rng::stream_key(site.seed, site.step, site.site);
  const int64_t global_cols = site.global_cols == 0 ? cols : site.global_cols;
  using A = typename Arith<S>::type;
  const A keep_scale = static_cast<A>(1.0 / (1.0 - p));
  const uint32_t threshold = rng::uniform_bits24_threshold(p);  // kept iff uniform01 >= p
#pragma omp parallel for if (rows * cols >= kParallelMin / 4) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t base = static_cast<uint64_t>(ops::dropout_global_row(site, r) * global_cols +
                                                site.col_offset);
    const S* x = in + r * cols;
    S* y = out + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const bool keep = rng::uniform_bits24(key, base + c) >= threshold;
      y[c] = keep ? Arith<S>::store(Arith<S>::load(x[c]) * keep_scale) : S(0);
    }
  }
}

void dropout_apply(const char* kernel, const Tensor& in, double p, const ops::DropoutSite& site,
                   Tensor& out) {
  if (p == 0.0) {
    if (out.raw() != in.raw()) std::memcpy(out.raw(), in.raw(), in.nbytes());
    return;
  }
  const int64_t cols = in.dim(-1);
  const int64_t rows = cols == 0 ? 0 : in.numel() / cols;
  if (in.dtype() == DType::BF16 && out.dtype() == DType::BF16) {
    return dropout_impl(static_cast<const uint16_t*>(in.raw()), static_cast<uint16_t*>(out.raw()),
                        rows, cols, p, site);
  }
  dispatch_floating(kernel, in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dropout_impl(in.data<T>(), out.data<T>(), rows, cols, p, site);
  });
}

}  // namespace

void dropout_forward(const Tensor& x, double p, const ops::DropoutSite& site, Tensor& y) {
  dropout_apply("dropout_forward", x, p, site, y);
}

void dropout_backward(const Tensor& dy, double p, const ops::DropoutSite& site, Tensor& dx) {
  dropout_apply("dropout_backward", dy, p, site, dx);
}

}  // namespace weft::cpu
