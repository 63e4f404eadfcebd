#pragma once
// Shared by the op tests: building tensors from reference values, casting
// between dtypes, and the two comparisons every test makes (a result against
// a double reference, an analytic gradient against finite differences).

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "support/tensor_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"

namespace weft {
// gtest prints a DType parameter by name, not as raw bytes.
inline void PrintTo(DType dtype, std::ostream* os) { *os << dtype_name(dtype); }
}  // namespace weft

namespace weft::testing {

inline Tensor cast(const Tensor& t, DType dtype) {
  Tensor out = Tensor::empty(t.shape(), dtype);
  ops::convert(t, out);
  return out;
}

// A reference result (computed in double) as a tensor of `dtype`.
inline Tensor from_doubles(const std::vector<double>& values, const Shape& shape,
                           DType dtype = DType::F64) {
  Tensor t = Tensor::empty(shape, DType::F64);
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<double>());
  return dtype == DType::F64 ? t : cast(t, dtype);
}

inline Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }

// `actual` against a double reference, within the tolerance of actual's dtype.
inline ::testing::AssertionResult matches_reference(const Tensor& actual,
                                                    const std::vector<double>& expected) {
  const Tolerance tol = tolerance_for(actual.dtype());
  return all_close(actual, from_doubles(expected, actual.shape()), tol.rel, tol.abs);
}

// An analytic gradient against central differences of loss() in x (F64).
inline ::testing::AssertionResult matches_numeric_gradient(const Tensor& analytic,
                                                           const std::function<double()>& loss,
                                                           Tensor& x) {
  const Tolerance tol = tolerance_for(DType::F64);
  return all_close(analytic, numeric_gradient(loss, x), tol.rel, tol.abs);
}

// Op tests run in every CPU precision: f32, f64 and bf16 (f32 arithmetic on
// bf16 tensors, within tolerance_for(BF16) of the double reference).
class FloatingTest : public ::testing::TestWithParam<DType> {};

inline std::string dtype_param_name(const ::testing::TestParamInfo<DType>& info) {
  return dtype_name(info.param);
}

#define WEFT_FLOATING_SUITE(suite)                                                    \
  INSTANTIATE_TEST_SUITE_P(Precisions, suite, ::testing::Values(DType::F32, DType::F64, DType::BF16), \
                           ::weft::testing::dtype_param_name)

// AdamW runs in f32 and f64 only: a bf16 parameter is stepped through its
// f32 master copy (adamw_many_test.cc's master tests).
#define WEFT_FULL_PRECISION_SUITE(suite)                                                    \
  INSTANTIATE_TEST_SUITE_P(Precisions, suite, ::testing::Values(DType::F32, DType::F64), \
                           ::weft::testing::dtype_param_name)

}  // namespace weft::testing
