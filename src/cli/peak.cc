#include "cli/peak.h"

#include <algorithm>
#include <chrono>

#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"

namespace weft::cli {

double measure_peak_flops(int64_t n) {
  Tensor a = Tensor::empty({n, n}), b = Tensor::empty({n, n}), c = Tensor::empty({n, n});
  ops::fill(a, 0.5);
  ops::fill(b, 0.25);
  double best = 1e30;
  for (int i = 0; i < 4; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ops::gemm(a, false, b, false, c);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i > 0) best = std::min(best, s);  // the first run warms up
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best;
}

}  // namespace weft::cli
