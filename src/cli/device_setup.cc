#include "cli/device_setup.h"

#include "weft/backend/gemm.h"
#include "weft/backend/gpu.h"
#include "weft/tensor/error.h"

namespace weft::cli {

std::string ComputeTarget::describe() const {
  std::string out = std::string(dtype == DType::BF16 ? "bf16 mixed precision" : dtype_name(dtype)) +
                    " on " + device_name(device);
  if (device == Device::CUDA) out += " (" + gpu::describe() + ")";
  if (device == Device::CPU && dtype == DType::BF16) out += " (" + ops::cpu_bf16_gemm_path() + ")";
  return out;
}

ComputeTarget choose_target(const DeviceSettings& s) {
  ComputeTarget t;
  if (s.device == "auto") {
    t.device = gpu::available() ? Device::CUDA : Device::CPU;
  } else if (s.device == "cuda") {
    WEFT_CHECK(gpu::available(), "train.device = cuda, but ",
               gpu::describe() == "no CUDA backend in this build"
                   ? "this build of weft has no CUDA backend"
                   : "no CUDA device is visible",
               "; use --train.device cpu (or auto)");
    t.device = Device::CUDA;
  } else if (s.device == "cpu") {
    t.device = Device::CPU;
  } else {
    throw Error("train.device must be auto, cpu or cuda, got '" + s.device + "'");
  }
  if (s.precision == "fp32") {
    t.dtype = DType::F32;
  } else if (s.precision == "bf16") {
    t.dtype = DType::BF16;
  } else {
    throw Error("train.precision must be fp32 or bf16, got '" + s.precision + "'");
  }
  WEFT_CHECK(s.gpu_memory_fraction > 0.0 && s.gpu_memory_fraction <= 1.0,
             "train.gpu_memory_fraction must be in (0, 1], got ", s.gpu_memory_fraction);
  if (t.device == Device::CUDA) {
    gpu::Options options;
    options.arena_fraction = s.gpu_memory_fraction;
    options.tf32 = s.tf32;
    gpu::initialize(options);
  }
  return t;
}

}  // namespace weft::cli
