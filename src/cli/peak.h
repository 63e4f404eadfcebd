#pragma once
// The machine's attainable FLOP/s, measured in the same run as the figure it
// divides (MFU): the best of a few n×n×n sgemm runs.

#include <cstdint>

namespace weft::cli {

double measure_peak_flops(int64_t n);

}  // namespace weft::cli
