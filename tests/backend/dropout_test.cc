// Dropout: the mask is the counter-based one the header defines, has the
// right density, depends on (seed, step, site) and on global indices only,
// and backward applies the same mask.

#include "weft/backend/dropout.h"

#include <algorithm>
#include <cmath>

#include "ops_testing.h"
#include "weft/tensor/counter_rng.h"

namespace weft::testing {
namespace {

ops::DropoutSite site_of(uint64_t step, uint64_t site) {
  ops::DropoutSite s;
  s.seed = 1234;
  s.step = step;
  s.site = site;
  return s;
}

// y = x · keep / (1 − p) with keep from the header's formula.
std::vector<double> reference(const Tensor& x, double p, const ops::DropoutSite& s) {
  const std::vector<double> xs = x.to_double_vector();
  const int64_t cols = x.dim(-1), rows = x.numel() / cols;
  const int64_t global_cols = s.global_cols == 0 ? cols : s.global_cols;
  const uint64_t key = rng::stream_key(s.seed, s.step, s.site);
  std::vector<double> y(xs.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      // The header's formula, written out: sequences own position_stride rows.
      const int64_t row = s.rows_per_sequence == 0
                              ? s.row_offset + r
                              : (s.row_offset + r / s.rows_per_sequence) * s.position_stride +
                                    r % s.rows_per_sequence;
      const uint64_t g = row * global_cols + s.col_offset + c;
      const bool keep = rng::uniform01(key, g) >= p;
      y[r * cols + c] = keep ? xs[r * cols + c] / (1.0 - p) : 0.0;
    }
  }
  return y;
}

Tensor dropped(const Tensor& x, double p, const ops::DropoutSite& s) {
  Tensor y = zeros_like(x);
  ops::dropout_forward(x, p, s, y);
  return y;
}

class DropoutForward : public FloatingTest {};

TEST_P(DropoutForward, MatchesHeaderMask) {
  const Tensor x = random_tensor({3, 5, 13}, GetParam(), 1, 0.5, 1.5);  // no zeros in x
  EXPECT_TRUE(matches_reference(dropped(x, 0.3, site_of(7, 2)), reference(x, 0.3, site_of(7, 2))));
}

TEST_P(DropoutForward, InPlaceAndZeroProbability) {
  const Tensor x = random_tensor({5, 7}, GetParam(), 2);
  Tensor y = x.clone();
  ops::dropout_forward(y, 0.4, site_of(1, 1), y);
  EXPECT_TRUE(matches_reference(y, reference(x, 0.4, site_of(1, 1))));
  Tensor z = x.clone();
  ops::dropout_forward(z, 0.0, site_of(1, 1), z);
  EXPECT_TRUE(all_close(z, x, 0.0, 0.0));
  EXPECT_TRUE(all_close(dropped(x, 0.0, site_of(1, 1)), x, 0.0, 0.0));
}

WEFT_FLOATING_SUITE(DropoutForward);

TEST(DropoutMask, FractionDroppedIsP) {
  Tensor x = Tensor::empty({1000, 1001});
  ops::fill(x, 1.0);
  for (double p : {0.1, 0.5}) {
    const std::vector<double> y = dropped(x, p, site_of(3, 4)).to_double_vector();
    int64_t zeros = 0;
    for (double v : y) zeros += v == 0.0;
    // Binomial standard deviation is about 5e-4 here; allow 6 of them.
    EXPECT_NEAR(static_cast<double>(zeros) / y.size(), p, 3e-3) << "p " << p;
  }
}

// The kernels compare the 24 random bits with an integer threshold; that
// must keep exactly the elements uniform01 >= p keeps, p on and between the
// 2^-24 grid included.
TEST(DropoutMask, IntegerThresholdKeepsWhatTheFloatComparisonKeeps) {
  const double grid = 1.0 / 16777216.0;
  for (double p : {0.0, 1.0, 0.1, 0.2, 0.5, 1.0 / 3.0, 12345 * grid, (12345 + 0.5) * grid,
                   std::nextafter(12345 * grid, 1.0), std::nextafter(12345 * grid, 0.0),
                   1.0 - grid, std::nextafter(1.0, 0.0)}) {
    const uint32_t threshold = rng::uniform_bits24_threshold(p);
    const int64_t guess = static_cast<int64_t>(p / grid);
    for (int64_t bits = std::max<int64_t>(0, guess - 3);
         bits <= std::min<int64_t>((1 << 24) - 1, guess + 3); ++bits) {
      const bool by_float = static_cast<double>(static_cast<float>(bits) * static_cast<float>(grid)) >= p;
      EXPECT_EQ(bits >= threshold, by_float) << "p " << p << " bits " << bits;
    }
  }
  // And on drawn bits: the same mask either way.
  const uint64_t key = rng::stream_key(7, 8, 9);
  const uint32_t threshold = rng::uniform_bits24_threshold(0.3);
  for (uint64_t i = 0; i < 100000; ++i) {
    ASSERT_EQ(rng::uniform_bits24(key, i) >= threshold, rng::uniform01(key, i) >= 0.3) << i;
  }
}

TEST(DropoutMask, SameSiteSameMaskOtherStepOrSiteDiffers) {
  const Tensor x = random_tensor({9, 31}, DType::F32, 5, 0.5, 1.5);
  const Tensor a = dropped(x, 0.5, site_of(3, 4));
  EXPECT_TRUE(all_close(dropped(x, 0.5, site_of(3, 4)), a, 0.0, 0.0));
  EXPECT_FALSE(all_close(dropped(x, 0.5, site_of(4, 4)), a, 0.0, 0.0));
  EXPECT_FALSE(all_close(dropped(x, 0.5, site_of(3, 5)), a, 0.0, 0.0));
  ops::DropoutSite other_seed = site_of(3, 4);
  other_seed.seed = 99;
  EXPECT_FALSE(all_close(dropped(x, 0.5, other_seed), a, 0.0, 0.0));
}

// A (4,10) tensor dropped whole equals its rows 2..3 dropped with row_offset 2
// and its columns 5..9 dropped with global_cols 10, col_offset 5.
TEST(DropoutMask, DependsOnGlobalIndexNotLayout) {
  const Tensor x = random_tensor({4, 10}, DType::F64, 6, 0.5, 1.5);
  const ops::DropoutSite whole_site = site_of(8, 1);
  const std::vector<double> whole = dropped(x, 0.5, whole_site).to_double_vector();

  ops::DropoutSite rows_site = whole_site;
  rows_site.row_offset = 2;
  const std::vector<double> rows = dropped(x.rows(2, 4).clone(), 0.5, rows_site).to_double_vector();
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(rows[i], whole[20 + i]) << i;

  Tensor right = Tensor::empty({4, 5}, DType::F64);
  for (int64_t r = 0; r < 4; ++r) {
    for (int64_t c = 0; c < 5; ++c) {
      right.data<double>()[r * 5 + c] = x.data<double>()[r * 10 + 5 + c];
    }
  }
  ops::DropoutSite cols_site = whole_site;
  cols_site.global_cols = 10;
  cols_site.col_offset = 5;
  const std::vector<double> cols = dropped(right, 0.5, cols_site).to_double_vector();
  for (int64_t r = 0; r < 4; ++r) {
    for (int64_t c = 0; c < 5; ++c) {
      EXPECT_EQ(cols[r * 5 + c], whole[r * 10 + 5 + c]) << r << "," << c;
    }
  }
}

// Sequences padded to 3 positions and the same sequences padded to 5 (as two
// data-parallel ranks pad to their own longest sentence) share the masks of
// their first 3 positions; and sequence 1 alone, at row_offset 1, has the
// masks it has in the whole batch.
TEST(DropoutMask, DependsOnSentenceAndPositionNotPadding) {
  ops::DropoutSite s = site_of(4, 3);
  s.rows_per_sequence = 3;
  s.position_stride = 16;
  const Tensor short_x = Tensor::from_vector(std::vector<float>(2 * 3 * 8, 1.0f), {2, 3, 8});
  const std::vector<double> short_y = dropped(short_x, 0.5, s).to_double_vector();
  EXPECT_TRUE(matches_reference(dropped(short_x, 0.5, s), reference(short_x, 0.5, s)));

  ops::DropoutSite padded = s;
  padded.rows_per_sequence = 5;
  const Tensor long_x = Tensor::from_vector(std::vector<float>(2 * 5 * 8, 1.0f), {2, 5, 8});
  const std::vector<double> long_y = dropped(long_x, 0.5, padded).to_double_vector();
  int dropped_count = 0;
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t c = 0; c < 8; ++c) {
        EXPECT_EQ(long_y[(b * 5 + t) * 8 + c], short_y[(b * 3 + t) * 8 + c]) << b << "," << t;
        dropped_count += short_y[(b * 3 + t) * 8 + c] == 0.0;
      }
    }
  }
  EXPECT_GT(dropped_count, 0);  // the comparison saw masks, not only kept values

  ops::DropoutSite second = s;
  second.row_offset = 1;
  const std::vector<double> alone =
      dropped(short_x.rows(1, 2).clone(), 0.5, second).to_double_vector();
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(alone[i], short_y[24 + i]) << i;
}

TEST(DropoutBackward, MatchesFiniteDifferencesWithTheSameMask) {
  Tensor x = random_tensor({3, 5, 7}, DType::F64, 7);
  const Tensor w = random_tensor(x.shape(), DType::F64, 8);
  const ops::DropoutSite s = site_of(2, 9);
  Tensor y = zeros_like(x);
  auto loss = [&] {
    ops::dropout_forward(x, 0.3, s, y);
    return dot(y, w);
  };
  Tensor dx = w.clone();
  ops::dropout_backward(dx, 0.3, s, dx);  // dx aliases dy
  EXPECT_TRUE(matches_numeric_gradient(dx, loss, x));
}

TEST(DropoutChecks, RefusesBadArguments) {
  const Tensor x = Tensor::zeros({4, 10});
  Tensor y = zeros_like(x), y_wrong = Tensor::zeros({10, 4});
  Tensor y64 = Tensor::zeros({4, 10}, DType::F64);
  const ops::DropoutSite s = site_of(1, 1);
  EXPECT_NO_THROW(ops::dropout_forward(x, 0.5, s, y));
  EXPECT_THROW(ops::dropout_forward(x, 1.0, s, y), Error);
  EXPECT_THROW(ops::dropout_forward(x, -0.1, s, y), Error);
  EXPECT_THROW(ops::dropout_forward(x, 0.5, s, y_wrong), Error);
  EXPECT_THROW(ops::dropout_forward(x, 0.5, s, y64), Error);
  ops::DropoutSite past_end = s;
  past_end.global_cols = 12;
  past_end.col_offset = 5;  // columns 5..14 of 12
  EXPECT_THROW(ops::dropout_forward(x, 0.5, past_end, y), Error);
  ops::DropoutSite negative = s;
  negative.row_offset = -1;
  EXPECT_THROW(ops::dropout_backward(x, 0.5, negative, y), Error);
  ops::DropoutSite overlapping = s;
  overlapping.rows_per_sequence = 2;
  overlapping.position_stride = 1;  // sequences would share rows of the index space
  EXPECT_THROW(ops::dropout_forward(x, 0.5, overlapping, y), Error);
  ops::DropoutSite ragged = s;
  ragged.rows_per_sequence = 3;  // 4 rows are not whole sequences of 3
  ragged.position_stride = 8;
  EXPECT_THROW(ops::dropout_forward(x, 0.5, ragged, y), Error);
  ops::DropoutSite shard = ragged;
  shard.row_shard = true;  // a sequence-parallel shard may cut sequences
  EXPECT_NO_THROW(ops::dropout_forward(x, 0.5, shard, y));
  shard.first_row = -1;
  EXPECT_THROW(ops::dropout_forward(x, 0.5, shard, y), Error);
  ops::DropoutSite offset_whole = s;
  offset_whole.first_row = 2;  // an offset only for shards
  EXPECT_THROW(ops::dropout_forward(x, 0.5, offset_whole, y), Error);
}

// A sequence-parallel shard of the flattened rows, cutting through
// sequences, gets exactly those rows of the whole tensor's mask.
TEST(Dropout, AShardOfRowsGetsThoseRowsOfTheWholeMask) {
  const int64_t rows = 3 * 5, cols = 7;  // 3 sequences of 5 positions
  ops::DropoutSite whole = site_of(3, 11);
  whole.row_offset = 4;  // the micro-batch's first sequence in the global batch
  whole.rows_per_sequence = 5;
  whole.position_stride = 64;
  const Tensor x = Tensor::from_vector(std::vector<float>(rows * cols, 1.0f), {rows, cols});
  Tensor full = Tensor::zeros({rows, cols});
  ops::dropout_forward(x, 0.3, whole, full);
  for (int64_t first : {0, 4, 7, 13}) {
    const int64_t n = std::min<int64_t>(4, rows - first);
    ops::DropoutSite shard = whole;
    shard.row_shard = true;
    shard.first_row = first;
    const Tensor part_in = x.rows(first, first + n).clone();
    Tensor part = Tensor::zeros({n, cols});
    ops::dropout_forward(part_in, 0.3, shard, part);
    EXPECT_EQ(part.to_float_vector(), full.rows(first, first + n).clone().to_float_vector())
        << "rows from " << first;
  }
}

}  // namespace
}  // namespace weft::testing
