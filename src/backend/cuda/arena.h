#pragma once
// All CUDA tensor memory comes from one block reserved at start-up: no
// cudaMalloc (which synchronises the device) after the first step, no
// fragmentation across the process, and an exact peak. Blocks are carved
// best-fit from a free list kept sorted by address, and neighbours coalesce
// when freed. Requests are rounded to 256 bytes, the alignment cuBLASLt and
// 128-bit loads want.

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

#include "weft/tensor/allocator.h"

namespace weft::cuda {

class Arena final : public Allocator {
 public:
  explicit Arena(size_t capacity);
  ~Arena() override;

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) override;
  void zero(void* ptr, size_t bytes) override;
  void copy_in(void* dst, const void* src, Device src_device, size_t bytes) override;
  void copy_out(void* dst, const void* src, size_t bytes) override;

  size_t capacity() const { return capacity_; }
  size_t in_use() const;
  size_t peak() const;
  void reset_peak();

 private:
  char* base_ = nullptr;
  size_t capacity_ = 0;
  mutable std::mutex mutex_;               // simulated ranks may share a device
  std::map<size_t, size_t> free_;          // offset -> size, sorted by address
  std::unordered_map<void*, size_t> used_; // pointer -> rounded size
  size_t in_use_ = 0;
  size_t peak_ = 0;
};

}  // namespace weft::cuda
