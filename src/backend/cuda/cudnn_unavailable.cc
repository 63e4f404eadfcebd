// Built instead of cudnn_attention.cc where cuDNN or cudnn-frontend's headers
// were not found, or with -DWEFT_CUDNN=OFF: every call goes to the SIMT
// kernels. Builds without CUDA link it too, so that the GPU tests build
// there (and skip).

#include "backend/cuda/cudnn_attention.h"

namespace weft::cuda {

namespace {
bool decline(std::string* why) {
  if (why != nullptr)
    *why = "this build has no cuDNN attention (WEFT_CUDNN off or cuDNN not found)";
  return false;
}
}  // namespace

bool cudnn_attention_built() {
  return false;
}

bool cudnn_flash_attention_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                   double, Tensor&, Tensor&, std::string* why) {
  return decline(why);
}

bool cudnn_flash_attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                    bool, double, const Tensor&, const Tensor&, const Tensor&,
                                    Tensor&, Tensor&, Tensor&, std::string* why) {
  return decline(why);
}

}  // namespace weft::cuda
