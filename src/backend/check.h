#pragma once
// Argument checks shared by the op files: every refusal names the op, the
// argument and what was expected.

#include "weft/tensor/error.h"
#include "weft/tensor/tensor.h"

namespace weft::ops::detail {

inline bool is_floating(DType d) { return d == DType::F32 || d == DType::F64 || d == DType::BF16; }

inline void check_floating(const char* op, const char* arg, const Tensor& t) {
  WEFT_CHECK(t.defined(), op, ": ", arg, " is undefined");
  WEFT_CHECK(is_floating(t.dtype()), op, ": ", arg, " must be floating point, got ", t.describe());
}

inline void check_ids(const char* op, const char* arg, const Tensor& t) {
  WEFT_CHECK(t.defined() && t.dtype() == DType::I32, op, ": ", arg, " must be i32, got ",
             t.describe());
}

inline void check_same(const char* op, const char* arg, const Tensor& t, const Tensor& like) {
  WEFT_CHECK(t.defined() && t.shape() == like.shape() && t.dtype() == like.dtype() &&
                 t.device() == like.device(),
             op, ": ", arg, " must be ", like.describe(), ", got ", t.describe());
}

inline void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& shape) {
  WEFT_CHECK(t.defined() && t.shape() == shape, op, ": ", arg, " must have shape ",
             shape_str(shape), ", got ", t.describe());
}

inline void check_device(const char* op, const char* arg, const Tensor& t, Device device) {
  WEFT_CHECK(t.device() == device, op, ": ", arg, " is on ", device_name(t.device()),
             ", expected ", device_name(device));
}

}  // namespace weft::ops::detail
