#include "backend/cuda/arena.h"

#include <algorithm>
#include <iterator>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "weft/tensor/error.h"

namespace weft::cuda {

namespace {
constexpr size_t kAlignment = 256;
size_t round_up(size_t bytes) { return (bytes == 0 ? 1 : bytes + kAlignment - 1) / kAlignment * kAlignment; }
double gib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }
}  // namespace

Arena::Arena(size_t capacity) : capacity_(capacity / kAlignment * kAlignment) {
  WEFT_CHECK(capacity_ > 0, "cuda arena: capacity must be at least ", kAlignment, " bytes");
  void* base = nullptr;
  WEFT_CUDA_CALL("arena", cudaMalloc(&base, capacity_));
  base_ = static_cast<char*>(base);
  free_[0] = capacity_;
}

Arena::~Arena() {
  // At exit the driver may already be shutting down; a failure here is moot.
  if (base_ != nullptr) cudaFree(base_);
}

void* Arena::allocate(size_t bytes) {
  const size_t size = round_up(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto best = free_.end();
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
  }
  if (best == free_.end()) {
    size_t largest = 0;
    for (const auto& [offset, free_size] : free_) largest = std::max(largest, free_size);
    throw Error(::weft::detail::concat("cuda arena: out of device memory: asked for ", gib(size),
                               " GiB with ", gib(in_use_), " GiB of ", gib(capacity_),
                               " GiB in use (largest free block ", gib(largest),
                               " GiB); use a smaller micro-batch or a larger "
                               "train.gpu_memory_fraction"));
  }
  const size_t offset = best->first, free_size = best->second;
  free_.erase(best);
  if (free_size > size) free_[offset + size] = free_size - size;
  void* ptr = base_ + offset;
  used_[ptr] = size;
  in_use_ += size;
  peak_ = std::max(peak_, in_use_);
  return ptr;
}

void Arena::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto used = used_.find(ptr);
  WEFT_CHECK(used != used_.end(), "cuda arena: freeing a pointer it did not hand out");
  size_t offset = static_cast<size_t>(static_cast<char*>(ptr) - base_);
  size_t size = used->second;
  used_.erase(used);
  in_use_ -= size;
  // Coalesce with the free neighbours on either side. Work already queued on
  // the compute stream that reads this block runs before any later kernel
  // that reuses it: one stream keeps them in order.
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && offset + size == next->first) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += size;
      return;
    }
  }
  free_[offset] = size;
}

void Arena::zero(void* ptr, size_t bytes) {
  WEFT_CUDA_CALL("zero", cudaMemsetAsync(ptr, 0, bytes, stream("zero")));
}

void Arena::copy_in(void* dst, const void* src, Device src_device, size_t bytes) {
  cudaStream_t s = stream("copy");
  const cudaMemcpyKind kind =
      src_device == Device::CPU ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice;
  WEFT_CUDA_CALL("copy", cudaMemcpyAsync(dst, src, bytes, kind, s));
  // The host buffer may be freed as soon as we return.
  if (src_device == Device::CPU) WEFT_CUDA_CALL("copy", cudaStreamSynchronize(s));
}

void Arena::copy_out(void* dst, const void* src, size_t bytes) {
  cudaStream_t s = stream("copy");
  WEFT_CUDA_CALL("copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
  WEFT_CUDA_CALL("copy", cudaStreamSynchronize(s));
}

size_t Arena::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

size_t Arena::peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

void Arena::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_ = in_use_;
}

}  // namespace weft::cuda
