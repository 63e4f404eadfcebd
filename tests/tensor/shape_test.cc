// Sizes computed from outside input are checked: a shape whose element count
// or byte count overflows int64 is refused by name before anything is
// allocated, instead of wrapping around to a small allocation.

#include <gtest/gtest.h>

#include "support/error_testing.h"
#include "weft/tensor/tensor.h"

namespace weft {
namespace {

using testing::error_of;

TEST(Shape, CountsElements) {
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({3, 0, 5}), 0);
  EXPECT_EQ(shape_numel({int64_t{1} << 31, int64_t{1} << 31}), int64_t{1} << 62);
}

TEST(Shape, AnElementCountPast2To63IsRefused) {
  const std::string message =
      error_of([] { shape_numel({int64_t{1} << 32, int64_t{1} << 32}); });
  EXPECT_NE(message.find("[4294967296, 4294967296] has more than 2^63 elements"),
            std::string::npos)
      << message;
  // 2^62 positions of a 2-wide table: a learned-positions table of an absurd context.
  EXPECT_NE(error_of([] { shape_numel({int64_t{1} << 62, 4}); }).find("more than 2^63 elements"),
            std::string::npos);
}

TEST(Shape, NegativeDimensionsAreRefused) {
  EXPECT_NE(error_of([] { shape_numel({2, -3}); }).find("negative dimension in shape [2, -3]"),
            std::string::npos);
}

TEST(Shape, ATensorPast2To63BytesIsRefusedBeforeAllocating) {
  // 2^62 elements fit int64; 2^62 doubles (2^65 bytes) do not.
  const Shape huge = {int64_t{1} << 31, int64_t{1} << 31};
  const int64_t before = allocation_count();
  const std::string message = error_of([&] { Tensor::empty(huge, DType::F64); });
  EXPECT_NE(message.find("f64 tensor of shape [2147483648, 2147483648] would need more than "
                         "2^63 bytes"),
            std::string::npos)
      << message;
  Tensor t;
  EXPECT_NE(error_of([&] { Tensor::ensure(t, huge, DType::F32, Device::CPU); }).find("2^63 bytes"),
            std::string::npos);
  EXPECT_EQ(allocation_count(), before);
}

}  // namespace
}  // namespace weft
