#pragma once
// Device memory behind Tensor storage. The CPU allocator is built in; a device
// backend registers its own at start-up, so the tensor layer never includes
// device headers.

#include <cstddef>
#include <cstdint>

#include "weft/tensor/dtype.h"

namespace weft {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr) = 0;
  virtual void zero(void* ptr, size_t bytes) = 0;
  // Copies `bytes` from `src` on `src_device` to `dst` on this allocator's device.
  virtual void copy_in(void* dst, const void* src, Device src_device, size_t bytes) = 0;
  // Copies `bytes` from `src` on this allocator's device to host memory `dst`.
  virtual void copy_out(void* dst, const void* src, size_t bytes) = 0;
};

Allocator& allocator_for(Device device);
void register_allocator(Device device, Allocator* allocator);
// Host memory held by CPU tensors (every thread of the process): in use now,
// and the most in use at once since start-up or reset_host_tensor_peak().
struct HostTensorMemory {
  int64_t in_use = 0;
  int64_t peak = 0;
};
HostTensorMemory host_tensor_memory();
void reset_host_tensor_peak();

// This machine's physical memory in bytes; 0 where the system does not say.
int64_t host_memory_bytes();

}  // namespace weft
