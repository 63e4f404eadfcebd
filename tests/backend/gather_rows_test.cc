// gather_rows: rows picked by index (repeats, any order) against a naive
// copy, in every dtype, below and above the threading threshold, and the
// argument checks.

#include "weft/backend/gather_rows.h"

#include "ops_testing.h"

namespace weft::testing {
namespace {

// dst[m] = src[index[m]], in double.
std::vector<double> reference_gather(const Tensor& src, const std::vector<int32_t>& index) {
  const std::vector<double> s = src.to_double_vector();
  const int64_t row = src.numel() / src.dim(0);
  std::vector<double> out;
  for (int32_t i : index) out.insert(out.end(), s.begin() + i * row, s.begin() + (i + 1) * row);
  return out;
}

class GatherRows : public FloatingTest {};

TEST_P(GatherRows, CopiesIndexedRowsWithRepeats) {
  const std::vector<int32_t> picks = {4, 0, 0, 2, 4, 4, 1};
  for (const Shape& shape : {Shape{5, 3, 7}, Shape{5, 9001}}) {  // 9001·7 rows: threaded
    SCOPED_TRACE(shape_str(shape));
    const Tensor src = random_tensor(shape, GetParam(), 1);
    Shape out_shape = shape;
    out_shape[0] = static_cast<int64_t>(picks.size());
    Tensor dst = Tensor::empty(out_shape, GetParam());
    ops::gather_rows(src, Tensor::from_vector(picks, {7}), dst);
    EXPECT_TRUE(all_close(dst, from_doubles(reference_gather(src, picks), out_shape), 0.0, 0.0));
  }
}

WEFT_FLOATING_SUITE(GatherRows);

TEST(GatherRowsIds, CopiesI32RowsExactly) {
  const Tensor src = random_ids({4, 6}, 100, 2);
  Tensor dst = Tensor::empty({3, 6}, DType::I32);
  ops::gather_rows(src, Tensor::from_vector(std::vector<int32_t>{3, 1, 3}, {3}), dst);
  for (int64_t c = 0; c < 6; ++c) {
    EXPECT_EQ(dst.data<int32_t>()[c], src.data<int32_t>()[3 * 6 + c]);
    EXPECT_EQ(dst.data<int32_t>()[6 + c], src.data<int32_t>()[6 + c]);
    EXPECT_EQ(dst.data<int32_t>()[12 + c], src.data<int32_t>()[3 * 6 + c]);
  }
}

TEST(GatherRowsIds, EmptyIndexWritesNothing) {
  const Tensor src = random_tensor({3, 2}, DType::F32, 3);
  Tensor dst = Tensor::empty({0, 2}, DType::F32);
  EXPECT_NO_THROW(ops::gather_rows(src, Tensor::empty({0}, DType::I32), dst));
}

TEST(GatherRowsChecks, RefusesBadArguments) {
  const Tensor src = random_tensor({3, 4}, DType::F32, 4);
  const Tensor index = Tensor::from_vector(std::vector<int32_t>{2, 0}, {2});
  Tensor dst = Tensor::empty({2, 4}, DType::F32);
  Tensor wrong_shape = Tensor::empty({2, 5}, DType::F32);
  Tensor wrong_dtype = Tensor::empty({2, 4}, DType::F64);
  Tensor in_place = src.clone();
  Tensor alias = in_place.rows(1, 3);
  Tensor one = dst.rows(0, 1);
  const auto refuses = [](auto&& call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const Tensor past_end = Tensor::from_vector(std::vector<int32_t>{3}, {1});
  const Tensor negative = Tensor::from_vector(std::vector<int32_t>{-1}, {1});
  refuses([&] { ops::gather_rows(src, past_end, one); }, "index[0] = 3");
  refuses([&] { ops::gather_rows(src, negative, one); }, "outside src's 3 rows");
  refuses([&] { ops::gather_rows(src, index, wrong_shape); }, "dst must have shape [2, 4]");
  refuses([&] { ops::gather_rows(src, index, wrong_dtype); }, "dst must have src's dtype");
  refuses([&] { ops::gather_rows(src, random_tensor({2}, DType::F32, 5), dst); },
          "index must be i32");
  refuses([&] { ops::gather_rows(in_place, index, alias); }, "overlaps src");
}

}  // namespace
}  // namespace weft::testing
