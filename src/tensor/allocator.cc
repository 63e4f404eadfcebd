#include "weft/tensor/allocator.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "weft/tensor/error.h"

namespace weft {
namespace {

std::atomic<int64_t> host_in_use{0}, host_peak{0};

// 64-byte alignment: one cache line, and the widest AVX-512 load. Counts
// the bytes malloc reserved for each block (malloc_usable_size, the same at
// allocation and release), for host_tensor_memory().
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) / 64 * 64;
    void* ptr = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (ptr == nullptr) throw std::bad_alloc();
    const int64_t now = host_in_use += static_cast<int64_t>(malloc_usable_size(ptr));
    int64_t peak = host_peak.load();
    while (now > peak && !host_peak.compare_exchange_weak(peak, now)) {
    }
    return ptr;
  }
  void deallocate(void* ptr) override {
    if (ptr != nullptr) host_in_use -= static_cast<int64_t>(malloc_usable_size(ptr));
    std::free(ptr);
  }
  void zero(void* ptr, size_t bytes) override { std::memset(ptr, 0, bytes); }
  void copy_in(void* dst, const void* src, Device src_device, size_t bytes) override {
    WEFT_CHECK(src_device == Device::CPU, "CPU allocator cannot read from ", device_name(src_device));
    std::memcpy(dst, src, bytes);
  }
  void copy_out(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

Allocator*& slot(Device device) {
  static Allocator* allocators[2] = {nullptr, nullptr};
  return allocators[static_cast<int>(device)];
}

}  // namespace

Allocator& allocator_for(Device device) {
  static CpuAllocator cpu;
  if (device == Device::CPU) return cpu;
  Allocator* a = slot(device);
  WEFT_CHECK(a != nullptr, "no allocator for device '", device_name(device),
             "': this build has no backend for it");
  return *a;
}

void register_allocator(Device device, Allocator* allocator) { slot(device) = allocator; }

HostTensorMemory host_tensor_memory() { return {host_in_use.load(), host_peak.load()}; }

void reset_host_tensor_peak() { host_peak = host_in_use.load(); }

int64_t host_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

}  // namespace weft
