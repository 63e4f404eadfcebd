#pragma once
// Column j of a D-wide sinusoidal position table, once for the CPU and the
// CUDA kernels: the sine or the cosine of the angle p / 10000^(2i/D), i and
// which one as the layout places them (weft/backend/embedding.h). Formed in
// double on both devices.

#include <cstdint>

#include "weft/tensor/host_device.h"

namespace weft::sinusoid {

struct Column {
  int64_t i;  // the angle's index
  bool sine;
};

WEFT_HOST_DEVICE inline Column column(int64_t j, int64_t d, bool halves) {
  if (!halves) return {j / 2, j % 2 == 0};
  const int64_t sines = (d + 1) / 2;  // an odd D has one sine more than cosines
  return j < sines ? Column{j, true} : Column{j - sines, false};
}

// p / 10000^(2i/D); Pow is the device's pow on doubles.
template <typename Pow>
WEFT_HOST_DEVICE inline double angle(int64_t p, int64_t i, int64_t d, Pow pow) {
  return static_cast<double>(p) / pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(d));
}

}  // namespace weft::sinusoid
