#pragma once
// What the GPU suite shares: a fixture that skips visibly where there is no
// GPU, the budgets of the two GPU precisions, operands that hold the same
// values on the GPU and (in f64) on the host, and the comparisons every test
// makes.
//
// The reference for every op is the CPU backend in f64, run on exactly the
// values the GPU op reads: a bf16 operand is rounded on the GPU and read back,
// so the reference sees the rounded inputs and the budget measures only the
// GPU's arithmetic. Outputs the op writes are filled with NaN before the GPU
// runs, so an element left unwritten fails; outputs it accumulates into (+=)
// start from the same random values on both sides.

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "weft/tensor/tensor.h"

namespace weft {
// gtest prints a DType parameter by name, not as raw bytes.
inline void PrintTo(DType dtype, std::ostream* os) { *os << dtype_name(dtype); }
}  // namespace weft

namespace weft::testing {

// Skips with "no GPU: <why>" when there is none; otherwise starts it once
// per process with TF32 off, so f32 GEMMs keep the 1e-5 budget.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

// A test run once per GPU precision: f32 and bf16.
class GpuPrecisionTest : public GpuTest, public ::testing::WithParamInterface<DType> {
 protected:
  DType dtype() const { return GetParam(); }
  double budget() const;
};

#define WEFT_GPU_PRECISIONS(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Precisions, suite,                                           \
                           ::testing::Values(::weft::DType::F32, ::weft::DType::BF16), \
                           ::weft::testing::gpu_dtype_name)

std::string gpu_dtype_name(const ::testing::TestParamInfo<DType>& info);

// Relative error allowed per precision: f32 1e-5, bf16 1e-2.
double gpu_budget(DType dtype);

// Seeds for one test: distinct for every tensor drawn, derived from the test's
// name so that a failure reproduces.
class Seeds {
 public:
  Seeds();
  uint64_t next() { return base_ + 7919 * count_++; }

 private:
  uint64_t base_;
  uint64_t count_ = 0;
};

// The same values on the GPU (in `dtype`) and on the host (in f64).
struct Operand {
  Tensor gpu;
  Tensor ref;
};

// Uniform in [lo, hi): drawn in f32, uploaded, converted to `dtype` on the
// GPU, and read back for the reference.
Operand random_operand(const Shape& shape, DType dtype, uint64_t seed, double lo = -1.0,
                       double hi = 1.0);
// Any floating host tensor, likewise.
Operand operand_of(const Tensor& host, DType dtype);
// i32 ids (or any i32 tensor): the host tensor is the reference.
Operand ids_operand(const Tensor& host_ids);

// Shapes for the elementwise ops: element counts off every multiple of the
// 16-byte pack (scalar tails), aligned ones, and a single element.
const std::vector<Shape>& elementwise_shapes();

// An output the GPU op must write: every element NaN.
Tensor poisoned(const Shape& shape, DType dtype);
// Any tensor's values as a host f64 tensor.
Tensor host_f64(const Tensor& t);

// max|gpu − ref| / max(max|ref|, tiny) within `budget`. Any NaN in the GPU
// output fails, and so does an infinity the reference does not hold at the
// same place. The message names the op, the tensor, the worst index (flat
// and per dimension) and both values there.
::testing::AssertionResult close_to_cpu(const std::string& op, const std::string& tensor,
                                        const Tensor& gpu, const Tensor& ref, double budget);

// Identical bytes (determinism, conversions, dropout masks); names the first
// element that differs.
::testing::AssertionResult same_bits(const std::string& op, const std::string& tensor,
                                     const Tensor& a, const Tensor& b);

}  // namespace weft::testing
