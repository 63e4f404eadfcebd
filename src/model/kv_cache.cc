#include "weft/model/kv_cache.h"

#include <utility>

#include "weft/backend/gather_rows.h"
#include "weft/tensor/error.h"

namespace weft {

KVCache::KVCache(int64_t capacity) : requested_capacity_(capacity) {
  WEFT_CHECK(capacity >= 0, "KVCache: capacity must be >= 0 (0: the model's max_seq_len), got ",
             capacity);
}

void KVCache::reset(const KVCacheLayout& l) {
  WEFT_CHECK(l.batch > 0, "KVCache: a sequence batch needs at least one row, got ", l.batch);
  WEFT_CHECK(requested_capacity_ <= l.max_seq_len, "KVCache: capacity ", requested_capacity_,
             " exceeds the model's context (model.max_seq_len) of ", l.max_seq_len);
  capacity_ = requested_capacity_ > 0 ? requested_capacity_ : l.max_seq_len;
  max_seq_len_ = l.max_seq_len;
  batch_ = l.batch;
  length_ = 0;
  has_memory_ = false;
  layers_.resize(static_cast<size_t>(l.layers));
  for (Layer& layer : layers_) {
    Tensor::ensure(layer.k, {l.batch, capacity_, l.heads_local, l.head_dim}, l.dtype, l.device);
    Tensor::ensure(layer.v, {l.batch, capacity_, l.heads_local, l.head_dim}, l.dtype, l.device);
  }
  if (l.masked) {
    Tensor::ensure(self_valid_, {l.batch, capacity_}, DType::I32, l.device);
  } else {
    self_valid_ = Tensor();
  }
  memory_valid_ = Tensor();
}

void KVCache::check_room(int64_t count) const {
  WEFT_CHECK(capacity_ > 0, "KVCache: the cache is not started; call prefill (decoder-only) or ",
             "encode (encoder-decoder) first");
  WEFT_CHECK(length_ + count <= capacity_, "KVCache: cannot add ", count, " position(s) to the ",
             length_, " already held: the cache holds at most ", capacity_,
             " positions (model.max_seq_len is ", max_seq_len_, ")");
}

void KVCache::mark_keys(const Tensor& ids, int32_t pad_id) {
  if (!self_valid_.defined()) return;
  const int64_t B = ids.dim(0), T = ids.dim(1);
  const Tensor host_ids = ids.device() == Device::CPU ? ids : ids.to(Device::CPU);
  Tensor marks = Tensor::empty({T}, DType::I32);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      marks.data<int32_t>()[t] = host_ids.data<int32_t>()[b * T + t] != pad_id;
    }
    Tensor row = self_valid_.rows(b, b + 1).view({capacity_}).rows(length_, length_ + T);
    row.copy_from(marks);
  }
}

void KVCache::advance(int64_t count) {
  check_room(count);
  length_ += count;
}

namespace {

// t (B, ...) becomes t[index] (B', ...): gathered into `scratch`, then the
// two swap so that t's old storage serves the next gather.
void gather_in_place(Tensor& t, const Tensor& index, Tensor& scratch) {
  if (!t.defined()) return;
  Shape shape = t.shape();
  shape[0] = index.dim(0);
  Tensor::ensure(scratch, shape, t.dtype(), t.device());
  ops::gather_rows(t, index, scratch);
  std::swap(t, scratch);
}

}  // namespace

void KVCache::reorder(const Tensor& index) {
  WEFT_CHECK(capacity_ > 0, "KVCache::reorder: the cache is not started");
  WEFT_CHECK(
      index.defined() && index.dtype() == DType::I32 && index.rank() == 1 && index.dim(0) > 0,
      "KVCache::reorder: index must be a non-empty i32 vector of rows, got ",
      index.defined() ? index.describe() : "nothing");
  const Device device = layers_.empty() ? Device::CPU : layers_[0].k.device();
  const Tensor on_device = index.device() == device ? index : index.to(device);
  for (Layer& layer : layers_) {
    gather_in_place(layer.k, on_device, scratch_);
    gather_in_place(layer.v, on_device, scratch_);
    if (has_memory_) {
      gather_in_place(layer.cross_k, on_device, scratch_);
      gather_in_place(layer.cross_v, on_device, scratch_);
    }
  }
  gather_in_place(self_valid_, on_device, scratch_);
  if (has_memory_) gather_in_place(memory_valid_, on_device, scratch_);
  batch_ = index.dim(0);
}

}  // namespace weft
