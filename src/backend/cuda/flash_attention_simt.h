#pragma once
// The SIMT flash-attention kernels (flash_attention_cuda.cu): the path for
// f32, for every call cuDNN does not take (cudnn_attention.h), and the
// reference the GPU tests hold cuDNN to. Same arguments and conventions as
// weft::ops::flash_attention_{forward,backward}, already checked.

#include "weft/tensor/tensor.h"

namespace weft::cuda {

void simt_flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                                  Tensor& out);

void simt_flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& key_valid, bool causal, double scale,
                                   const Tensor& out, const Tensor& lse, const Tensor& dout,
                                   Tensor& dq, Tensor& dk, Tensor& dv);

}  // namespace weft::cuda
