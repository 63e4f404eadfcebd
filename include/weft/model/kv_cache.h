#pragma once
// The keys and values a decoder has already computed, so that each new token
// costs one position's projections and one row of attention instead of a
// forward pass over the whole prefix. Inference only: nothing here is kept
// for a backward pass.
//
// Per decoder layer (shards: this rank's H_local heads, like the attention):
//   k, v              (B, capacity, H_local, Dh)  self-attention, rows [0, length) filled
//   cross_k, cross_v  (B, S, H_local, Dh)         encoder-decoder only: the encoder
//                                                 output's keys and values, computed once
// and, when the model has a pad id, the key masks the training forward uses:
//   self_valid (B, capacity) i32, memory_valid (B, S) i32.
// Decoding sizes the cache when a sequence starts (prefill or encode in
// inference/cached_decoding.h); storage is reused when large enough.

#include <cstdint>
#include <vector>

#include "weft/tensor/tensor.h"

namespace weft {

// The model's shape a cache is sized for when a sequence starts.
struct KVCacheLayout {
  int64_t batch = 0;
  int64_t layers = 0;
  int64_t heads_local = 0;  // key/value heads on this rank (grouped-query: fewer than query heads)
  int64_t head_dim = 0;
  int64_t max_seq_len = 0;  // the model's context: no cache holds more positions
  bool masked = false;      // the model has a pad id: keep key masks
  DType dtype = DType::F32;
  Device device = Device::CPU;
};

class KVCache {
 public:
  struct Layer {
    Tensor k, v;
    Tensor cross_k, cross_v;
  };

  // `capacity`: the most positions one sequence may hold; 0 takes the
  // model's max_seq_len. More than max_seq_len is refused when decoding
  // sizes the cache. A smaller capacity saves memory (B·capacity·d per layer
  // and tensor), e.g. source length + 50 for translation.
  explicit KVCache(int64_t capacity = 0);

  int64_t batch() const { return batch_; }
  int64_t length() const { return length_; }       // positions filled
  int64_t capacity() const { return capacity_; }   // 0 until decoding sizes it
  bool has_memory() const { return has_memory_; }  // cross-attention keys present

  // Beam search: row r continues the state of row index[r], index (B') i32
  // with entries in [0, batch). B' may differ from batch: one encoded source
  // expanded to its k beams is index {0,0,0,0}.
  void reorder(const Tensor& index);

  // --- for decoding and the layers -------------------------------------
  // Empties the cache and sizes the self-attention buffers for `layout`.
  void reset(const KVCacheLayout& layout);
  // Marks the cross-attention keys as filled: the layers' cross_k, cross_v
  // and memory_valid hold the encoded source's.
  void set_memory() { has_memory_ = true; }
  // Throws weft::Error unless `count` more positions fit (within capacity,
  // hence within model.max_seq_len).
  void check_room(int64_t count) const;
  // Writes the key mask of positions [length, length + T) from ids (B,T)
  // (1 where id != pad_id); nothing when the cache keeps no masks.
  void mark_keys(const Tensor& ids, int32_t pad_id);
  void advance(int64_t count);

  Layer& layer(size_t i) { return layers_[i]; }
  size_t layers() const { return layers_.size(); }
  const Tensor& self_valid() const { return self_valid_; }  // (B, capacity) or undefined
  Tensor& memory_valid() { return memory_valid_; }          // (B, S) or undefined

 private:
  int64_t requested_capacity_;
  int64_t capacity_ = 0;
  int64_t max_seq_len_ = 0;
  int64_t batch_ = 0;
  int64_t length_ = 0;
  bool has_memory_ = false;
  std::vector<Layer> layers_;
  Tensor self_valid_, memory_valid_;
  Tensor scratch_;  // reorder gathers here, then swaps it in
};

}  // namespace weft
