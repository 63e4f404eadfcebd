#include "tensor_testing.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "weft/tensor/counter_rng.h"
#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"

namespace weft::testing {

Tolerance tolerance_for(DType dtype) {
  switch (dtype) {
    case DType::F64: return {1e-6, 1e-7};
    case DType::F32: return {1e-5, 1e-6};
    case DType::BF16: return {1e-2, 1e-2};
    case DType::I32: return {0.0, 0.0};
  }
  return {0.0, 0.0};
}

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo, double hi) {
  Tensor t = Tensor::empty(shape, dtype);
  const uint64_t key = rng::stream_key(seed, 0x7e57, 0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u = lo + (hi - lo) * rng::uniform01_double(key, static_cast<uint64_t>(i));
    switch (dtype) {
      case DType::F32: t.data<float>()[i] = static_cast<float>(u); break;
      case DType::F64: t.data<double>()[i] = u; break;
      case DType::BF16:
        static_cast<uint16_t*>(t.raw())[i] = float_to_bf16(static_cast<float>(u));
        break;
      case DType::I32:
        throw Error("random_tensor: i32 is not floating; use random_ids");
    }
  }
  return t;
}

Tensor random_ids(const Shape& shape, int32_t vocab, uint64_t seed) {
  WEFT_CHECK(vocab > 0, "random_ids: vocab must be positive, got ", vocab);
  Tensor t = Tensor::empty(shape, DType::I32);
  const uint64_t key = rng::stream_key(seed, 0x1d5, 0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u = rng::uniform01_double(key, static_cast<uint64_t>(i));
    t.data<int32_t>()[i] = std::min(vocab - 1, static_cast<int32_t>(u * vocab));
  }
  return t;
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rel,
                                     double abs) {
  if (!actual.defined() || !expected.defined() || actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure()
           << "shapes differ: actual " << actual.describe() << ", expected "
           << expected.describe();
  }
  const std::vector<double> a = actual.to_double_vector(), e = expected.to_double_vector();
  constexpr int kShown = 8;
  std::ostringstream first;
  int64_t mismatches = 0;
  double max_abs = 0.0, max_rel = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - e[i]);
    const bool identical = a[i] == e[i] || (std::isnan(a[i]) && std::isnan(e[i]));
    const bool ok = identical || err <= abs + rel * std::abs(e[i]);
    if (!identical) {
      max_abs = std::max(max_abs, std::isnan(err) ? INFINITY : err);
      if (e[i] != 0.0) max_rel = std::max(max_rel, err / std::abs(e[i]));
    }
    if (ok) continue;
    if (mismatches++ < kShown) {
      first << "\n  [" << i << "] actual " << a[i] << ", expected " << e[i] << " (abs err "
            << err << ")";
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << mismatches << " of " << a.size() << " elements of " << actual.describe()
         << " differ beyond rel " << rel << " + abs " << abs << "; max abs err " << max_abs
         << ", max rel err " << max_rel << "; first mismatches:" << first.str();
}

Tensor numeric_gradient(const std::function<double()>& loss, Tensor& x, double eps) {
  WEFT_CHECK(x.device() == Device::CPU && (x.dtype() == DType::F64 || x.dtype() == DType::F32),
             "numeric_gradient: x must be f64 or f32 on cpu, got ", x.describe());
  Tensor grad = Tensor::empty(x.shape(), DType::F64);
  double* g = grad.data<double>();
  // Perturb through a double view of the element, then measure the step that
  // the storage really holds (f32 rounds it).
  auto at = [&](int64_t i) -> double {
    return x.dtype() == DType::F64 ? x.data<double>()[i] : x.data<float>()[i];
  };
  auto set = [&](int64_t i, double value) {
    if (x.dtype() == DType::F64) {
      x.data<double>()[i] = value;
    } else {
      x.data<float>()[i] = static_cast<float>(value);
    }
  };
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double saved = at(i);
    set(i, saved + eps);
    const double x_plus = at(i);
    const double f_plus = loss();
    set(i, saved - eps);
    const double x_minus = at(i);
    const double f_minus = loss();
    set(i, saved);
    g[i] = (f_plus - f_minus) / (x_plus - x_minus);
  }
  return grad;
}

double dot(const Tensor& a, const Tensor& b) {
  WEFT_CHECK(a.numel() == b.numel(), "dot: ", a.describe(), " and ", b.describe(),
             " differ in size");
  const std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  double s = 0.0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace weft::testing
