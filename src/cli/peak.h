#pragma once
// The machine's attainable FLOP/s, measured in the same run as the figure it
// divides (MFU). On the CPU: the best of a few n×n×n GEMMs of the run's
// precision, through the same GEMM the run uses. On CUDA: the best of
// a few timed loops of n×n×n bf16 GEMMs (the tensor cores' dense rate,
// which MFU is conventionally quoted against whatever the precision).

#include <cstdint>
#include <string>

#include "weft/tensor/dtype.h"

namespace weft::cli {

struct PeakFlops {
  double flops_per_s = 0.0;
  std::string method;  // "sgemm 2048^3 on cpu, best of 3"
};

PeakFlops measure_peak(Device device, int64_t n, DType dtype);

// The CPU's peak, as measure_peak(Device::CPU, n).
double measure_peak_flops(int64_t n);

}  // namespace weft::cli
