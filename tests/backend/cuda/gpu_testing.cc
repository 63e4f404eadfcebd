#include "gpu_testing.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#include "support/tensor_testing.h"
#include "weft/tensor/counter_rng.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/gpu.h"

namespace weft::testing {

namespace {

// "123 [2, 0, 7]": a flat index and the same element per dimension.
std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> at(shape.size());
  int64_t rest = flat;
  for (size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] == 0 ? 0 : rest % shape[d];
    rest = shape[d] == 0 ? 0 : rest / shape[d];
  }
  std::ostringstream s;
  s << flat << " [";
  for (size_t d = 0; d < at.size(); ++d) s << (d ? ", " : "") << at[d];
  s << "]";
  return s.str();
}

}  // namespace

void GpuTest::SetUp() {
  if (!gpu::available()) GTEST_SKIP() << "no GPU: " << gpu::describe();
  gpu::Options options;
  options.tf32 = false;
  gpu::initialize(options);
}

double GpuPrecisionTest::budget() const { return gpu_budget(GetParam()); }

std::string gpu_dtype_name(const ::testing::TestParamInfo<DType>& info) {
  return dtype_name(info.param);
}

double gpu_budget(DType dtype) {
  switch (dtype) {
    case DType::F32: return 1e-5;
    case DType::BF16: return 1e-2;
    default: return 0.0;
  }
}

Seeds::Seeds() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = info == nullptr ? std::string("no test")
                                           : std::string(info->test_suite_name()) + "." +
                                                 info->name();
  base_ = rng::hash_name(name.c_str());
}

Operand random_operand(const Shape& shape, DType dtype, uint64_t seed, double lo, double hi) {
  return operand_of(random_tensor(shape, DType::F32, seed, lo, hi), dtype);
}

Operand operand_of(const Tensor& host, DType dtype) {
  Tensor f32 = host;
  if (host.dtype() != DType::F32) {
    f32 = Tensor::empty(host.shape(), DType::F32);
    ops::convert(host, f32);
  }
  Tensor gpu = f32.to(Device::CUDA);
  if (dtype != DType::F32) {
    Tensor converted = Tensor::empty(host.shape(), dtype, Device::CUDA);
    ops::convert(gpu, converted);
    gpu = converted;
  }
  return {gpu, host_f64(gpu)};
}

Operand ids_operand(const Tensor& host_ids) { return {host_ids.to(Device::CUDA), host_ids}; }

const std::vector<Shape>& elementwise_shapes() {
  static const std::vector<Shape> all = {{1001}, {37, 67}, {3, 5, 129}, {64, 1024}, {1}};
  return all;
}

Tensor poisoned(const Shape& shape, DType dtype) {
  if (dtype == DType::F32 || dtype == DType::BF16) {
    Tensor t = Tensor::empty(shape, dtype, Device::CUDA);
    ops::fill(t, std::numeric_limits<double>::quiet_NaN());
    return t;
  }
  // The GPU's fill covers the compute dtypes; other outputs are poisoned on
  // the host: NaN for f64, the largest i32 for ids.
  Tensor host = Tensor::empty(shape, dtype);
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (dtype == DType::F64) {
      host.data<double>()[i] = std::numeric_limits<double>::quiet_NaN();
    } else {
      host.data<int32_t>()[i] = std::numeric_limits<int32_t>::max();
    }
  }
  return host.to(Device::CUDA);
}

Tensor host_f64(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), DType::F64);
  const std::vector<double> v = t.to_double_vector();
  std::copy(v.begin(), v.end(), out.data<double>());
  return out;
}

::testing::AssertionResult close_to_cpu(const std::string& op, const std::string& tensor,
                                        const Tensor& gpu, const Tensor& ref, double budget) {
  const std::string what = op + ": " + tensor;
  if (!gpu.defined() || !ref.defined() || gpu.shape() != ref.shape()) {
    return ::testing::AssertionFailure()
           << what << ": shapes differ: gpu " << (gpu.defined() ? gpu.describe() : "undefined")
           << ", reference " << (ref.defined() ? ref.describe() : "undefined");
  }
  const std::vector<double> a = gpu.to_double_vector(), e = ref.to_double_vector();
  double max_ref = 0.0, worst = 0.0;
  int64_t worst_at = -1, bad = 0, first_bad = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isfinite(e[i])) max_ref = std::max(max_ref, std::abs(e[i]));
    if (!std::isfinite(a[i]) || !std::isfinite(e[i])) {
      // Only an infinity the reference holds too (a query that sees no key
      // has lse −inf) is allowed; NaN never is.
      if (a[i] == e[i]) continue;
      if (bad++ == 0) first_bad = static_cast<int64_t>(i);
      continue;
    }
    const double diff = std::abs(a[i] - e[i]);
    if (worst_at < 0 || diff > worst) worst = diff, worst_at = static_cast<int64_t>(i);
  }
  constexpr double kTiny = 1e-30;
  const double error = worst / std::max(max_ref, kTiny);
  if (bad > 0) {
    return ::testing::AssertionFailure()
           << what << " (" << gpu.describe() << "): " << bad << " of " << a.size()
           << " elements are NaN or a wrong infinity (unwritten, or overflowed); the first at "
           << index_str(gpu.shape(), first_bad) << ": gpu " << a[first_bad] << ", reference "
           << e[first_bad];
  }
  if (error <= budget) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " (" << gpu.describe() << "): relative error " << error << " exceeds "
         << budget << "; worst at " << index_str(gpu.shape(), worst_at) << ": gpu "
         << a[worst_at] << ", reference " << e[worst_at] << " (max |reference| " << max_ref
         << ")";
}

::testing::AssertionResult same_bits(const std::string& op, const std::string& tensor,
                                     const Tensor& a, const Tensor& b) {
  const std::string what = op + ": " + tensor;
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) {
    return ::testing::AssertionFailure()
           << what << ": " << a.describe() << " and " << b.describe() << " differ in shape or dtype";
  }
  const Tensor ha = a.to(Device::CPU), hb = b.to(Device::CPU);
  const size_t size = dtype_size(a.dtype());
  const char* pa = static_cast<const char*>(ha.raw());
  const char* pb = static_cast<const char*>(hb.raw());
  int64_t differing = 0, first = -1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * size, pb + i * size, size) == 0) continue;
    if (differing++ == 0) first = i;
  }
  if (differing == 0) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << what << " (" << a.describe() << "): " << differing << " of " << a.numel()
          << " elements differ in their bits; the first at " << index_str(a.shape(), first);
  if (a.dtype() != DType::I32) {
    failure << ": " << ha.to_double_vector()[first] << " vs " << hb.to_double_vector()[first];
  } else {
    failure << ": " << ha.data<int32_t>()[first] << " vs " << hb.data<int32_t>()[first];
  }
  return failure;
}

}  // namespace weft::testing
