#pragma once
// Declares the kernel list once per device namespace: weft::cpu::gemm,
// weft::cuda::gemm, ... Only src/backend/ includes this header.

#include "weft/backend/activation.h"
#include "weft/backend/adamw.h"
#include "weft/backend/dropout.h"
#include "weft/backend/embedding.h"
#include "weft/tensor/tensor.h"

namespace weft::cpu {
#include "backend/kernels.inc"
}  // namespace weft::cpu

#ifdef WEFT_WITH_CUDA
namespace weft::cuda {
#include "backend/kernels.inc"
}  // namespace weft::cuda
#endif
