#pragma once
// One attention call as both CUDA forms (probabilities and flash) see it:
// sizes, masks and where a head's row lives in the interleaved layout
// q (B,Tq,H,Dh), k and v (B,Tk,H,Dh).

#include "backend/cuda/device_common.cuh"

namespace weft::cuda {

struct AttentionProblem {
  int64_t B, H, Tq, Tk, Dh;
  bool causal;
  float scale;
  const int32_t* valid;  // (B,Tk) or null

  // Whether query i of batch b sees key j (out-of-range rows see nothing).
  __device__ bool sees(int64_t b, int64_t i, int64_t j) const {
    return i < Tq && j < Tk && (!causal || j <= i + Tk - Tq) &&
           (valid == nullptr || valid[b * Tk + j] != 0);
  }
  // Element offset of row t of head h in a (B,T,H,Dh) tensor.
  __device__ int64_t row(int64_t b, int64_t t, int64_t h, int64_t T) const {
    return ((b * T + t) * H + h) * Dh;
  }
};

inline AttentionProblem attention_problem(const Tensor& q, const Tensor& k,
                                          const Tensor& key_valid, bool causal, double scale) {
  return AttentionProblem{q.dim(0),
                          q.dim(2),
                          q.dim(1),
                          k.dim(1),
                          q.dim(3),
                          causal,
                          static_cast<float>(scale),
                          key_valid.defined() ? ptr<int32_t>(key_valid) : nullptr};
}

}  // namespace weft::cuda
