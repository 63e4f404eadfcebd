#pragma once
// Tensor: a dense, contiguous, row-major array on one device. It owns (a share
// of) its storage and knows nothing of autograd: layers compute gradients
// explicitly. Views (reshape, row ranges) share storage with their source.

#include <memory>
#include <string>
#include <vector>

#include "weft/tensor/dtype.h"

namespace weft {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);
// Storage blocks tensors have allocated so far on any device: lets a test
// show that steady-state training steps allocate nothing.
int64_t allocation_count();

class Storage;

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage, no shape

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  // Host data copied into a new tensor on `device`.
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                            Device device = Device::CPU);
  static Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape,
                            Device device = Device::CPU);

  // Makes `t` a tensor of this shape, reusing its storage when large enough.
  // Layers call it once per (batch, sequence) shape so that steady-state
  // training steps allocate nothing.
  static void ensure(Tensor& t, const Shape& shape, DType dtype, Device device);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw();
  const void* raw() const;
  template <typename T> T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  template <typename T> const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(raw());
  }

  // Same storage, new shape with the same number of elements (one -1 allowed).
  Tensor view(const Shape& shape) const;
  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor rows(int64_t begin, int64_t end) const;

  // Deep copies.
  Tensor clone() const;
  Tensor to(Device device) const;
  void copy_from(const Tensor& src);  // same shape and dtype; any devices
  void zero();

  // Host copies for tests and I/O; converts from any floating dtype.
  std::vector<float> to_float_vector() const;
  std::vector<double> to_double_vector() const;

  std::string describe() const;  // e.g. "f32[2, 3] on cpu"

 private:
  void check_type(DType wanted) const;

  std::shared_ptr<Storage> storage_;
  size_t offset_bytes_ = 0;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

}  // namespace weft
