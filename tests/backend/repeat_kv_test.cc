// repeat_kv_forward/backward: every query head reads its key/value head, the
// backward sums each group (against finite differences in f64), one group
// copies, bf16 sums in f32, and refusals.

#include "weft/backend/repeat_kv.h"

#include <gmock/gmock.h>

#include "ops_testing.h"
#include "support/error_testing.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

// y[b,t,h] = x[b,t,h / groups], element by element over (b,t) rows.
std::vector<double> repeated(const Tensor& x, int64_t groups) {
  const std::vector<double> xs = x.to_double_vector();
  const int64_t bt = x.dim(0) * x.dim(1), hkv = x.dim(2), dh = x.dim(3), hq = hkv * groups;
  std::vector<double> y(static_cast<size_t>(bt * hq * dh));
  for (int64_t n = 0; n < bt; ++n) {
    for (int64_t h = 0; h < hq; ++h) {
      for (int64_t c = 0; c < dh; ++c) {
        y[(n * hq + h) * dh + c] = xs[(n * hkv + h / groups) * dh + c];
      }
    }
  }
  return y;
}

// dx[b,t,j] = Σ_{h / groups = j} dy[b,t,h]
std::vector<double> summed(const Tensor& dy, int64_t groups) {
  const std::vector<double> ds = dy.to_double_vector();
  const int64_t bt = dy.dim(0) * dy.dim(1), hq = dy.dim(2), dh = dy.dim(3), hkv = hq / groups;
  std::vector<double> dx(static_cast<size_t>(bt * hkv * dh), 0.0);
  for (int64_t n = 0; n < bt; ++n) {
    for (int64_t h = 0; h < hq; ++h) {
      for (int64_t c = 0; c < dh; ++c) {
        dx[(n * hkv + h / groups) * dh + c] += ds[(n * hq + h) * dh + c];
      }
    }
  }
  return dx;
}

struct Case {
  Shape x;
  int64_t groups;
};

// Odd sizes; one group (a copy); many groups of one key/value head; one
// above the parallel threshold.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {{2, 5, 3, 7}, 4}, {{3, 7, 2, 5}, 1}, {{1, 3, 1, 9}, 7}, {{2, 33, 2, 64}, 4}};
  return all;
}

Shape repeated_shape(const Case& c) {
  return {c.x[0], c.x[1], c.x[2] * c.groups, c.x[3]};
}

class RepeatKv : public FloatingTest {};

TEST_P(RepeatKv, ForwardCopiesEveryGroup) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_str(c.x) + " x " + std::to_string(c.groups));
    const Tensor x = random_tensor(c.x, GetParam(), 1);
    Tensor y = Tensor::empty(repeated_shape(c), GetParam());
    ops::fill(y, std::nan(""));  // written
    ops::repeat_kv_forward(x, c.groups, y);
    EXPECT_TRUE(all_close(y, from_doubles(repeated(x, c.groups), y.shape()), 0.0, 0.0));
  }
}

TEST_P(RepeatKv, BackwardSumsEveryGroup) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_str(c.x) + " x " + std::to_string(c.groups));
    const Tensor dy = random_tensor(repeated_shape(c), GetParam(), 2);
    Tensor dx = Tensor::empty(c.x, GetParam());
    ops::fill(dx, std::nan(""));  // written
    ops::repeat_kv_backward(dy, c.groups, dx);
    EXPECT_TRUE(matches_reference(dx, summed(dy, c.groups)));
  }
}

WEFT_FLOATING_SUITE(RepeatKv);

TEST(RepeatKvBackward, MatchesFiniteDifferences) {
  Tensor x = random_tensor({2, 3, 2, 5}, DType::F64, 3);
  const Tensor w = random_tensor({2, 3, 6, 5}, DType::F64, 4);
  Tensor y = zeros_like(w);
  auto loss = [&] {
    ops::repeat_kv_forward(x, 3, y);
    return dot(y, w);
  };
  Tensor dx = zeros_like(x);
  ops::repeat_kv_backward(w, 3, dx);
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
}

// bf16 groups are summed in f32 and rounded once: exactly the f32 sum,
// rounded.
TEST(RepeatKvBf16, SumsInF32) {
  const Tensor dy = random_tensor({3, 5, 24, 7}, DType::BF16, 5);
  Tensor dx = Tensor::zeros({3, 5, 3, 7}, DType::BF16), dx32 = Tensor::zeros({3, 5, 3, 7});
  ops::repeat_kv_backward(dy, 8, dx);
  ops::repeat_kv_backward(cast(dy, DType::F32), 8, dx32);
  EXPECT_TRUE(all_close(dx, cast(dx32, DType::BF16), 0.0, 0.0));
}

TEST(RepeatKvChecks, RefusesMismatchedArguments) {
  const Tensor x = Tensor::zeros({2, 3, 2, 4});
  Tensor y = Tensor::zeros({2, 3, 6, 4}), y64 = Tensor::zeros({2, 3, 6, 4}, DType::F64);
  Tensor y_wrong = Tensor::zeros({2, 3, 4, 4}), flat = Tensor::zeros({6, 2, 4});
  Tensor ids = Tensor::zeros({2, 3, 2, 4}, DType::I32);
  EXPECT_NO_THROW(ops::repeat_kv_forward(x, 3, y));
  EXPECT_THROW(ops::repeat_kv_forward(x, 3, y64), Error);
  EXPECT_THROW(ops::repeat_kv_forward(flat, 3, y), Error);
  EXPECT_THROW(ops::repeat_kv_forward(ids, 1, ids), Error);
  EXPECT_THAT(error_of([&] { ops::repeat_kv_forward(x, 3, y_wrong); }),
              HasSubstr("repeat_kv_forward: y must have shape [2, 3, 6, 4]"));
  EXPECT_THAT(error_of([&] { ops::repeat_kv_forward(x, 0, y); }),
              HasSubstr("repeat_kv_forward: groups must be >= 1"));
  Tensor same = Tensor::zeros({2, 3, 2, 4});
  EXPECT_THAT(error_of([&] { ops::repeat_kv_forward(same, 1, same); }),
              HasSubstr("repeat_kv_forward: y overlaps x"));
  Tensor dx = zeros_like(x);
  EXPECT_NO_THROW(ops::repeat_kv_backward(y, 3, dx));
  EXPECT_THROW(ops::repeat_kv_backward(y_wrong, 3, dx), Error);
  EXPECT_THAT(error_of([&] { ops::repeat_kv_backward(same, 1, same); }),
              HasSubstr("repeat_kv_backward: dx overlaps dy"));
}

}  // namespace
}  // namespace weft::testing
