#pragma once
// Element types and devices a Tensor can hold.

#include <cstddef>
#include <cstdint>
#include <string>

namespace weft {

// F64 exists for reference computations (finite-difference checks); training
// runs in F32 on CPU and in BF16/F32 on CUDA.
enum class DType : uint8_t { F32, F64, BF16, I32 };

enum class Device : uint8_t { CPU, CUDA };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);

// The DType that stores a C++ type; used by Tensor::data<T>() to refuse a
// read through the wrong type.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }

}  // namespace weft
