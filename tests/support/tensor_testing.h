#pragma once
// Helpers every suite uses to compare tensors: one statement of tolerances
// per precision, seeded random inputs, a comparison that prints the first
// mismatches, and central finite differences for gradient checks.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>

#include "weft/tensor/tensor.h"

namespace weft::testing {

// |actual − expected| <= abs + rel·|expected|, per element.
struct Tolerance {
  double rel;
  double abs;
};

// F64: analytic gradients against central finite differences (eps 1e-6);
// F32: a float computation against a double reference (1e-5 relative);
// BF16: 1e-2.
Tolerance tolerance_for(DType dtype);

// Uniform in [lo, hi), a pure function of (seed, flat index); floating dtypes.
Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo = -1.0,
                     double hi = 1.0);
// i32 ids uniform in [0, vocab).
Tensor random_ids(const Shape& shape, int32_t vocab, uint64_t seed);

// Same shape, and every element within tolerance (dtypes may differ: a f32
// result against a f64 reference). On failure lists the first mismatching
// flat indices with both values, the mismatch count, the max abs and max rel
// error.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rel,
                                     double abs);

// d loss / d x by central differences: perturbs each element of x (F64 or
// F32, CPU) in place by ±eps, calls loss(), restores it. Returns F64 of x's
// shape. For F32 the step actually stored is used, but prefer F64 inputs.
Tensor numeric_gradient(const std::function<double()>& loss, Tensor& x, double eps = 1e-6);

// Σ a·b in double; a and b have the same number of elements, any dtypes.
double dot(const Tensor& a, const Tensor& b);

}  // namespace weft::testing
