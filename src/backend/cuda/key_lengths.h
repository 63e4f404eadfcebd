#pragma once
// weft's key mask as cuDNN's padding mask wants it: one length per sequence.

#include <cstdint>

#include "weft/tensor/tensor.h"

namespace weft::cuda {

struct KeyLengths {
  const int32_t* q;   // (B) on the GPU: Tq for every sequence (every query is real)
  const int32_t* kv;  // (B) on the GPU: the number of leading ones of key_valid's row
  bool prefix;        // every row is ones then zeros, with at least one one
};

// Lengths of key_valid (B,Tk) i32 on the GPU, B > 0, in a buffer reused by
// the next call on this thread. Where `prefix` is false the lengths do not
// describe the mask (a hidden key before a visible one, or no visible key).
// `prefix` decides which kernel runs: for a mask the host described
// (ops::describe_key_mask) it is the description; otherwise this waits for
// the compute stream, one copy of B integers to the host per call.
KeyLengths key_lengths(const Tensor& key_valid, int64_t Tq);

// Zeroes rows t >= lengths[b] of x (B,T,H,Dh): the gradients of hidden keys,
// which cuDNN's padded backward need not write and weft defines as 0.
void zero_past_lengths(Tensor& x, const int32_t* lengths);

}  // namespace weft::cuda
