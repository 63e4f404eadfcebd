#pragma once
// The one place that chooses a device: WEFT_DISPATCH(device, kernel, args...)
// calls weft::cpu::kernel or weft::cuda::kernel.

#include "backend/kernels.h"
#include "weft/backend/profiler.h"
#include "weft/tensor/error.h"

#ifdef WEFT_WITH_CUDA
#define WEFT_CUDA_KERNEL(kernel, ...) ::weft::cuda::kernel(__VA_ARGS__)
#else
#define WEFT_CUDA_KERNEL(kernel, ...) \
  throw ::weft::Error("this build of weft has no CUDA backend: cannot run " #kernel " on cuda")
#endif

#define WEFT_DISPATCH(device, kernel, ...)                                \
  do {                                                                    \
    ::weft::profiler::Scope weft_profile_scope(#kernel, device);          \
    switch (device) {                                                     \
      case ::weft::Device::CPU: ::weft::cpu::kernel(__VA_ARGS__); break;  \
      case ::weft::Device::CUDA: WEFT_CUDA_KERNEL(kernel, __VA_ARGS__); break; \
    }                                                                     \
  } while (0)
