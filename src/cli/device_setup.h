#pragma once
// Where a command computes and in which precision, from the user's words
// (--train.device auto|cpu|cuda, --train.precision fp32|bf16), with the GPU
// started when it is chosen.

#include <string>

#include "weft/tensor/dtype.h"

namespace weft::cli {

struct DeviceSettings {
  std::string device = "auto";     // auto: cuda when a GPU is present, else cpu
  std::string precision = "fp32";  // fp32 | bf16 (bf16 needs cuda)
  double gpu_memory_fraction = 0.9;  // of the free device memory, for the arena
  bool tf32 = false;
};

struct ComputeTarget {
  Device device = Device::CPU;
  DType dtype = DType::F32;  // of weights and activations; master weights stay f32
  std::string describe() const;  // "bf16 on cuda (NVIDIA H100 ...)", "f32 on cpu"
};

// Resolves `auto`, refuses what cannot run here with one message naming the
// key (cuda without a GPU, bf16 on cpu, an unknown word), and starts the GPU
// (gpu::initialize) when the target is cuda.
ComputeTarget choose_target(const DeviceSettings& settings);

}  // namespace weft::cli
