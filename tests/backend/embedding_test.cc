// Token embeddings (repeated ids, vocabulary shards), positions and the
// sinusoidal table.

#include "weft/backend/embedding.h"

#include <cmath>

#include "ops_testing.h"

namespace weft::testing {
namespace {

constexpr int64_t kVocab = 11, kDim = 13;

// out[n] = scale · table[ids[n] − offset] when in the shard, else 0.
std::vector<double> reference_embedding(const Tensor& table, const Tensor& ids, double scale,
                                        int64_t offset) {
  const std::vector<double> t = table.to_double_vector();
  const int64_t v = table.dim(0), d = table.dim(1);
  std::vector<double> out(ids.numel() * d, 0.0);
  for (int64_t n = 0; n < ids.numel(); ++n) {
    const int64_t row = ids.data<int32_t>()[n] - offset;
    if (row < 0 || row >= v) continue;
    for (int64_t c = 0; c < d; ++c) out[n * d + c] = scale * t[row * d + c];
  }
  return out;
}

class EmbeddingForward : public FloatingTest {};

TEST_P(EmbeddingForward, GathersScaledRows) {
  const Tensor table = random_tensor({kVocab, kDim}, GetParam(), 1);
  const Tensor ids = Tensor::from_vector(std::vector<int32_t>{3, 0, 10, 3, 3, 7, 0, 1, 10, 5, 2, 3,
                                                              9, 9, 4},
                                         {3, 5});
  Tensor out = Tensor::empty({3, 5, kDim}, GetParam());
  ops::embedding_forward(table, ids, 2.5, 0, out);
  EXPECT_TRUE(matches_reference(out, reference_embedding(table, ids, 2.5, 0)));
}

WEFT_FLOATING_SUITE(EmbeddingForward);

// A table split into rows [0, 6) and [6, 11): each shard embeds only its ids,
// and the two partial results sum to the full table's.
TEST(EmbeddingShards, HalfShardsSumToFullTable) {
  const Tensor table = random_tensor({kVocab, kDim}, DType::F64, 2);
  const Tensor ids = random_ids({3, 5}, kVocab, 3);
  const Tensor lo = table.rows(0, 6).clone(), hi = table.rows(6, kVocab).clone();
  Tensor full = Tensor::empty({3, 5, kDim}, DType::F64), a = zeros_like(full), b = zeros_like(full);
  ops::embedding_forward(table, ids, 1.5, 0, full);
  ops::embedding_forward(lo, ids, 1.5, 0, a);
  ops::embedding_forward(hi, ids, 1.5, 6, b);
  EXPECT_TRUE(matches_reference(b, reference_embedding(hi, ids, 1.5, 6)));
  ops::add(a, b, a);
  EXPECT_TRUE(all_close(a, full, 0.0, 0.0));

  const Tensor dout = random_tensor(full.shape(), DType::F64, 4);
  Tensor dfull = Tensor::zeros(table.shape(), DType::F64);
  Tensor dlo = Tensor::zeros(lo.shape(), DType::F64), dhi = Tensor::zeros(hi.shape(), DType::F64);
  ops::embedding_backward(dout, ids, 1.5, 0, dfull);
  ops::embedding_backward(dout, ids, 1.5, 0, dlo);
  ops::embedding_backward(dout, ids, 1.5, 6, dhi);
  EXPECT_TRUE(all_close(dlo, dfull.rows(0, 6), 1e-15, 0.0));
  EXPECT_TRUE(all_close(dhi, dfull.rows(6, kVocab), 1e-15, 0.0));
}

// Ids drawn from 4 values over 15 positions repeat; the scatter must add them all.
TEST(EmbeddingBackward, RepeatedIdsMatchFiniteDifferences) {
  Tensor table = random_tensor({5, kDim}, DType::F64, 5);
  const Tensor ids = random_ids({3, 5}, 4, 6);
  const Tensor w = random_tensor({3, 5, kDim}, DType::F64, 7);
  Tensor out = Tensor::empty(w.shape(), DType::F64);
  auto loss = [&] {
    ops::embedding_forward(table, ids, 0.7, 0, out);
    return dot(out, w);
  };
  Tensor dtable = random_tensor(table.shape(), DType::F64, 8);
  const Tensor before = dtable.clone();
  ops::embedding_backward(w, ids, 0.7, 0, dtable);
  ops::axpy(-1.0, before, dtable);  // accumulated (+=) onto what was there
  EXPECT_TRUE(matches_numeric_gradient(dtable, loss, table));
}

TEST(EmbeddingBackward, LargeScatterIsDeterministicAndExact) {
  // Enough work for the threaded path; small integers make every sum exact.
  const Tensor ids = random_ids({4096}, 7, 9);
  Tensor dout = Tensor::empty({4096, 40}, DType::F32);
  ops::fill(dout, 1.0);
  Tensor dtable = Tensor::zeros({7, 40}, DType::F32);
  ops::embedding_backward(dout, ids, 1.0, 0, dtable);
  std::vector<double> counts(7 * 40, 0.0);
  for (int64_t n = 0; n < 4096; ++n) {
    for (int64_t c = 0; c < 40; ++c) counts[ids.data<int32_t>()[n] * 40 + c] += 1.0;
  }
  EXPECT_TRUE(all_close(dtable, from_doubles(counts, {7, 40}), 0.0, 0.0));
}

TEST(Positions, AddAndBackwardMatchReferenceAndFiniteDifferences) {
  Tensor table = random_tensor({9, kDim}, DType::F64, 10);
  Tensor x = random_tensor({3, 5, kDim}, DType::F64, 11);
  const std::vector<double> xs = x.to_double_vector(), ts = table.to_double_vector();
  std::vector<double> expected(xs);
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t t = 0; t < 5; ++t) {
      for (int64_t c = 0; c < kDim; ++c) expected[(b * 5 + t) * kDim + c] += ts[(3 + t) * kDim + c];
    }
  }
  ops::add_positions(table, 3, x);
  EXPECT_TRUE(matches_reference(x, expected));

  const Tensor w = random_tensor(x.shape(), DType::F64, 12);
  Tensor y = zeros_like(x);
  auto loss = [&] {
    y.zero();
    ops::add_positions(table, 3, y);
    return dot(y, w);
  };
  Tensor dtable = Tensor::zeros(table.shape(), DType::F64);
  ops::add_positions_backward(w, 3, dtable);
  EXPECT_TRUE(matches_numeric_gradient(dtable, loss, table));
}

TEST(Positions, SinusoidalTableHasThePapersValues) {
  Tensor table = Tensor::empty({4, 6}, DType::F64);
  ops::sinusoidal_positions(table);
  const double* t = table.data<double>();
  EXPECT_EQ(t[0], 0.0);                                      // sin(0)
  EXPECT_EQ(t[1], 1.0);                                      // cos(0)
  EXPECT_DOUBLE_EQ(t[6 + 0], std::sin(1.0));                 // p 1, i 0
  EXPECT_DOUBLE_EQ(t[6 + 1], std::cos(1.0));
  EXPECT_NEAR(t[6 + 2], std::sin(1.0 / 21.544346900318832), 1e-15);    // 10000^(2/6)
  EXPECT_NEAR(t[6 + 5], std::cos(1.0 / 464.15888336127773), 1e-15);    // 10000^(4/6)
  EXPECT_NEAR(t[18 + 4], std::sin(3.0 / 464.15888336127773), 1e-15);
  Tensor odd = Tensor::empty({3, 5}, DType::F32);              // odd D: the last column is a sine
  ops::sinusoidal_positions(odd);
  EXPECT_FLOAT_EQ(odd.data<float>()[2 * 5 + 4],
                  static_cast<float>(std::sin(2.0 / 1584.893192461114)));  // 10000^(4/5)
}

// Marian's layout: the sines of every angle, then their cosines; an odd D
// has one sine more (MarianSinusoidalPositionalEmbedding's ceil(D/2)).
TEST(Positions, HalvesLayoutPutsSinesFirstThenCosines) {
  Tensor table = Tensor::empty({4, 6}, DType::F64);
  ops::sinusoidal_positions(table, ops::SinusoidLayout::Halves);
  const double* t = table.data<double>();
  EXPECT_EQ(t[0], 0.0);  // p 0: sines 0, cosines 1
  EXPECT_EQ(t[2], 0.0);
  EXPECT_EQ(t[3], 1.0);
  EXPECT_EQ(t[5], 1.0);
  EXPECT_DOUBLE_EQ(t[6 + 0], std::sin(1.0));  // p 1, i 0
  EXPECT_DOUBLE_EQ(t[6 + 3], std::cos(1.0));
  EXPECT_NEAR(t[6 + 1], std::sin(1.0 / 21.544346900318832), 1e-15);  // i 1: 10000^(2/6)
  EXPECT_NEAR(t[6 + 4], std::cos(1.0 / 21.544346900318832), 1e-15);
  EXPECT_NEAR(t[18 + 5], std::cos(3.0 / 464.15888336127773), 1e-15);  // p 3, i 2
  // The same values as the interleaved table, its features permuted.
  Tensor interleaved = Tensor::empty({4, 6}, DType::F64);
  ops::sinusoidal_positions(interleaved);
  const double* u = interleaved.data<double>();
  for (int64_t p = 0; p < 4; ++p) {
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_EQ(t[p * 6 + i], u[p * 6 + 2 * i]);
      EXPECT_EQ(t[p * 6 + 3 + i], u[p * 6 + 2 * i + 1]);
    }
  }
  Tensor odd = Tensor::empty({3, 5}, DType::F32);  // sines of i 0..2, cosines of i 0..1
  ops::sinusoidal_positions(odd, ops::SinusoidLayout::Halves);
  const float* o = odd.data<float>();
  EXPECT_FLOAT_EQ(o[2 * 5 + 2], static_cast<float>(std::sin(2.0 / 1584.893192461114)));
  EXPECT_FLOAT_EQ(o[2 * 5 + 3], static_cast<float>(std::cos(2.0)));
  EXPECT_FLOAT_EQ(o[2 * 5 + 4], static_cast<float>(std::cos(2.0 / 39.810717055349734)));
}

TEST(EmbeddingChecks, RefusesMismatchedArguments) {
  const Tensor table = Tensor::zeros({kVocab, kDim});
  const Tensor ids = random_ids({2, 3}, kVocab, 1), float_ids = Tensor::zeros({2, 3});
  Tensor out = Tensor::empty({2, 3, kDim}), bad_out = Tensor::empty({2, 3, kDim + 1});
  Tensor out64 = Tensor::empty({2, 3, kDim}, DType::F64);
  EXPECT_NO_THROW(ops::embedding_forward(table, ids, 1.0, 0, out));
  EXPECT_THROW(ops::embedding_forward(table, float_ids, 1.0, 0, out), Error);
  EXPECT_THROW(ops::embedding_forward(table, ids, 1.0, 0, bad_out), Error);
  EXPECT_THROW(ops::embedding_forward(table, ids, 1.0, 0, out64), Error);
  EXPECT_THROW(ops::embedding_forward(table.view({-1}), ids, 1.0, 0, out), Error);
  EXPECT_THROW(ops::embedding_forward(table, ids, 1.0, -1, out), Error);
  Tensor dtable = zeros_like(table);
  EXPECT_THROW(ops::embedding_backward(bad_out, ids, 1.0, 0, dtable), Error);
  Tensor x = Tensor::zeros({2, 5, kDim});
  EXPECT_NO_THROW(ops::add_positions(table, 6, x));
  EXPECT_THROW(ops::add_positions(table, 7, x), Error);   // rows 7..11 of 11
  Tensor wide = Tensor::zeros({2, 5, kDim + 2});
  EXPECT_THROW(ops::add_positions(table, 0, wide), Error);
  EXPECT_THROW(ops::add_positions_backward(wide, 0, dtable), Error);
  Tensor ids_table = Tensor::zeros({3, 4}, DType::I32);
  EXPECT_THROW(ops::sinusoidal_positions(ids_table), Error);
}

}  // namespace
}  // namespace weft::testing
