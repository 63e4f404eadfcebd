#pragma once
// bf16 tensors for CPU kernels that take no bf16 as stored: a call's bf16
// tensors are widened to f32 scratch, the f32 kernel runs, and each bf16
// output is rounded once when the call returns. The arithmetic is the f32
// kernel's (f32 statistics and sums, as the CUDA kernels keep them in
// registers); what bf16 adds is two copies. The kernels a bf16 training step
// spends its time in (GEMMs, attention, dropout, GELU, add, bias, layer norm)
// read bf16 as stored (Arith<S>) and widen only unusual dtype mixes.
//
//   void kernel(const Tensor& x, Tensor& y) {
//     if (any_bf16({&x, &y})) {
//       Widened w;
//       return kernel(w.in(x), w.out(y));
//     }
//     ... the f32/f64 kernel ...
//
// Scratch comes from a pool per thread that only grows, so steady-state
// calls allocate nothing; calls nest (a kernel may call another).

#include <array>
#include <deque>
#include <initializer_list>
#include <utility>

#include "backend/kernels.h"
#include "weft/tensor/error.h"
#include "weft/tensor/tensor.h"

namespace weft::cpu {

inline bool any_bf16(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors) {
    if (t->defined() && t->dtype() == DType::BF16) return true;
  }
  return false;
}

class Widened {
 public:
  Widened() : first_(state().used) {}
  ~Widened() {
    for (int i = 0; i < outputs_used_; ++i) cpu::convert(*outputs_[i].second, *outputs_[i].first);
    state().used = first_;
  }
  Widened(const Widened&) = delete;
  Widened& operator=(const Widened&) = delete;

  // What the kernel reads for t: t itself unless it is bf16, else an f32 copy.
  const Tensor& in(const Tensor& t) {
    if (!t.defined() || t.dtype() != DType::BF16) return t;
    Tensor& wide = take(t.shape());
    cpu::convert(t, wide);
    return wide;
  }

  // Where the kernel writes t: t itself unless it is bf16, else f32 scratch
  // holding t's values (kernels may accumulate into an output), rounded
  // into t when this object goes.
  Tensor& out(Tensor& t) {
    if (!t.defined() || t.dtype() != DType::BF16) return t;
    WEFT_CHECK(outputs_used_ < static_cast<int>(outputs_.size()),
               "cpu: a kernel call widened more than ", outputs_.size(), " bf16 outputs");
    Tensor& wide = take(t.shape());
    cpu::convert(t, wide);
    outputs_[outputs_used_++] = {&t, &wide};
    return wide;
  }

 private:
  struct Slot {
    Tensor storage;  // flat f32, grown to the largest request
    Tensor view;     // the current request's shape
  };
  struct State {
    std::deque<Slot> slots;  // a deque: references stay valid as it grows
    size_t used = 0;
  };
  static State& state() {
    thread_local State s;
    return s;
  }

  Tensor& take(const Shape& shape) {
    State& s = state();
    if (s.used == s.slots.size()) s.slots.emplace_back();
    Slot& slot = s.slots[s.used++];
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (!slot.storage.defined() || slot.storage.numel() < n) {
      slot.storage = Tensor::empty({std::max<int64_t>(n, 1)}, DType::F32, Device::CPU);
    }
    slot.view = slot.storage.rows(0, n).view(shape);
    return slot.view;
  }

  size_t first_;
  std::array<std::pair<Tensor*, Tensor*>, 8> outputs_{};
  int outputs_used_ = 0;
};

}  // namespace weft::cpu
