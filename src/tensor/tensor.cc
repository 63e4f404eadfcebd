#include "weft/tensor/tensor.h"

#include <atomic>
#include <cstring>
#include <sstream>

#include "weft/tensor/allocator.h"
#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"

namespace weft {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
  }
  return "?";
}

const char* device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    WEFT_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    WEFT_CHECK(!__builtin_mul_overflow(n, d, &n), "shape ", shape_str(shape),
               " has more than 2^63 elements");
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

namespace {
std::atomic<int64_t> allocations{0};
}  // namespace

int64_t allocation_count() { return allocations.load(std::memory_order_relaxed); }

// A block of device memory; freed by the allocator that made it.
class Storage {
 public:
  Storage(Device device, size_t bytes)
      : device_(device), bytes_(bytes), ptr_(allocator_for(device).allocate(bytes)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  ~Storage() { allocator_for(device_).deallocate(ptr_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  Device device_;
  size_t bytes_;
  void* ptr_;
};

namespace {

// Bytes of `numel` (= shape_numel(shape)) elements of `dtype`, refused when
// they do not fit int64.
size_t checked_bytes(int64_t numel, const Shape& shape, DType dtype) {
  int64_t bytes = 0;
  WEFT_CHECK(!__builtin_mul_overflow(numel, static_cast<int64_t>(dtype_size(dtype)), &bytes),
             "a ", dtype_name(dtype), " tensor of shape ", shape_str(shape),
             " would need more than 2^63 bytes");
  return static_cast<size_t>(bytes);
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  const int64_t numel = shape_numel(shape);
  const size_t bytes = checked_bytes(numel, shape, dtype);
  Tensor t;
  t.shape_ = shape;
  t.numel_ = numel;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(device, bytes);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero();
  return t;
}

namespace {

// A tensor of `dtype` on `device` holding host `values` in row-major order.
template <typename T>
Tensor from_host_values(const std::vector<T>& values, const Shape& shape, DType dtype,
                        Device device) {
  WEFT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), values.size(),
             " values do not fill shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype, device);
  allocator_for(device).copy_in(t.raw(), values.data(), Device::CPU, t.nbytes());
  return t;
}

}  // namespace

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, Device device) {
  return from_host_values(values, shape, DType::F32, device);
}

Tensor Tensor::from_vector(const std::vector<int32_t>& values, const Shape& shape, Device device) {
  return from_host_values(values, shape, DType::I32, device);
}

void Tensor::ensure(Tensor& t, const Shape& shape, DType dtype, Device device) {
  const int64_t numel = shape_numel(shape);
  const size_t needed = checked_bytes(numel, shape, dtype);
  if (t.defined() && t.device_ == device && t.storage_.use_count() == 1 && t.offset_bytes_ == 0 &&
      t.storage_->bytes() >= needed) {
    t.shape_ = shape;
    t.numel_ = numel;
    t.dtype_ = dtype;
    return;
  }
  t = empty(shape, dtype, device);
}

int64_t Tensor::dim(int i) const {
  int r = rank();
  int j = i < 0 ? i + r : i;
  WEFT_CHECK(j >= 0 && j < r, "dimension ", i, " out of range for ", describe());
  return shape_[j];
}

void* Tensor::raw() {
  WEFT_CHECK(defined(), "access to an undefined tensor");
  return static_cast<char*>(storage_->ptr()) + offset_bytes_;
}

const void* Tensor::raw() const {
  WEFT_CHECK(defined(), "access to an undefined tensor");
  return static_cast<const char*>(storage_->ptr()) + offset_bytes_;
}

void Tensor::check_type(DType wanted) const {
  WEFT_CHECK(dtype_ == wanted, "tensor ", describe(), " read as ", dtype_name(wanted));
}

Tensor Tensor::view(const Shape& shape) const {
  Shape resolved = shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      WEFT_CHECK(infer < 0, "view ", shape_str(shape), " has more than one -1");
      infer = static_cast<int>(i);
    } else {
      known *= resolved[i];
    }
  }
  if (infer >= 0) {
    WEFT_CHECK(known > 0 && numel_ % known == 0, "cannot view ", describe(), " as ", shape_str(shape));
    resolved[infer] = numel_ / known;
  }
  WEFT_CHECK(shape_numel(resolved) == numel_, "cannot view ", describe(), " as ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = resolved;
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  WEFT_CHECK(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0], "rows [", begin, ", ",
             end, ") out of range for ", describe());
  int64_t row_numel = shape_[0] == 0 ? 0 : numel_ / shape_[0];
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numel_ = row_numel * (end - begin);
  t.offset_bytes_ += static_cast<size_t>(begin * row_numel) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::clone() const { return to(device_); }

Tensor Tensor::to(Device device) const {
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  WEFT_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "copy from ", src.describe(), " into ",
             describe());
  if (numel_ == 0) return;
  if (device_ == Device::CPU && src.device_ != Device::CPU) {
    allocator_for(src.device_).copy_out(raw(), src.raw(), nbytes());
  } else {
    allocator_for(device_).copy_in(raw(), src.raw(), src.device_, nbytes());
  }
}

void Tensor::zero() {
  if (numel_ > 0) allocator_for(device_).zero(raw(), nbytes());
}

std::vector<double> Tensor::to_double_vector() const {
  Tensor host = device_ == Device::CPU ? *this : to(Device::CPU);
  std::vector<double> out(static_cast<size_t>(numel_));
  const void* p = host.raw();
  for (int64_t i = 0; i < numel_; ++i) {
    switch (dtype_) {
      case DType::F32: out[i] = static_cast<const float*>(p)[i]; break;
      case DType::F64: out[i] = static_cast<const double*>(p)[i]; break;
      case DType::BF16: out[i] = bf16_to_float(static_cast<const uint16_t*>(p)[i]); break;
      case DType::I32: out[i] = static_cast<const int32_t*>(p)[i]; break;
    }
  }
  return out;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<double> d = to_double_vector();
  return std::vector<float>(d.begin(), d.end());
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return detail::concat(dtype_name(dtype_), shape_str(shape_), " on ", device_name(device_));
}

}  // namespace weft
