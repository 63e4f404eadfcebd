// The vocabulary-parallel cross-entropy: computed over 1, 2, 3 or 4 column
// shards of the logits (shards of unequal width included), it gives the
// losses and gradient columns of ops::cross_entropy on the full logits,
// including label smoothing, ignored rows and logits far from zero.

#include "weft/backend/vocab_parallel_cross_entropy.h"

#include "ops_testing.h"
#include "support/error_testing.h"
#include <gmock/gmock.h>

#include "weft/backend/cross_entropy.h"

namespace weft::testing {
namespace {

constexpr int64_t kRows = 7, kVocab = 13, kIgnore = -100;

Tensor targets() {
  return Tensor::from_vector(std::vector<int32_t>{3, 0, kIgnore, 12, 5, kIgnore, 7}, {kRows});
}

// Columns [begin, end) of (rows, cols) as a new tensor.
Tensor columns(const Tensor& x, int64_t begin, int64_t end) {
  Tensor out = Tensor::empty({x.dim(0), end - begin}, x.dtype());
  const std::vector<double> v = x.to_double_vector();
  for (int64_t r = 0; r < x.dim(0); ++r) {
    for (int64_t c = begin; c < end; ++c) {
      const double value = v[r * x.dim(1) + c];
      if (x.dtype() == DType::F64) {
        out.data<double>()[r * (end - begin) + c - begin] = value;
      } else {
        out.data<float>()[r * (end - begin) + c - begin] = static_cast<float>(value);
      }
    }
  }
  return out;
}

void expect_shards_match_full(DType dtype, const std::vector<int64_t>& cuts, double eps,
                              double shift) {
  Tensor logits = random_tensor({kRows, kVocab}, dtype, 5, -3.0 + shift, 3.0 + shift);
  const Tensor t = targets();
  Tensor full_losses = Tensor::empty({kRows}, dtype);
  Tensor full_grad = Tensor::empty({kRows, kVocab}, dtype);
  ops::cross_entropy(logits, t, kIgnore, eps, 0.25, full_losses, full_grad);

  const int64_t shards = static_cast<int64_t>(cuts.size()) - 1;
  // Every shard's stats, stacked as an all-gather would (shards of equal
  // width are what the model uses; the kernel does not need them).
  Tensor all_stats = Tensor::empty({shards, kRows, 4}, DType::F64);
  for (int64_t k = 0; k < shards; ++k) {
    Tensor stats = all_stats.rows(k, k + 1).view({kRows, 4});
    ops::cross_entropy_shard_stats(columns(logits, cuts[k], cuts[k + 1]), t, cuts[k], kIgnore,
                                   stats);
  }
  const Tolerance tol = tolerance_for(dtype);
  for (int64_t k = 0; k < shards; ++k) {
    Tensor shard = columns(logits, cuts[k], cuts[k + 1]);
    Tensor losses = Tensor::empty({kRows}, dtype);
    Tensor grad = Tensor::empty(shard.shape(), dtype);
    ops::cross_entropy_shard_finish(shard, t, cuts[k], kVocab, kIgnore, eps, 0.25, all_stats,
                                    losses, grad);
    EXPECT_TRUE(all_close(losses, full_losses, tol.rel, tol.abs)) << "shard " << k;
    EXPECT_TRUE(all_close(grad, columns(full_grad, cuts[k], cuts[k + 1]), tol.rel, tol.abs))
        << "shard " << k;
  }
}

TEST(VocabParallelCrossEntropy, OneShardIsTheFullLoss) {
  expect_shards_match_full(DType::F64, {0, kVocab}, 0.1, 0.0);
  expect_shards_match_full(DType::F32, {0, kVocab}, 0.0, 0.0);
}

TEST(VocabParallelCrossEntropy, ShardsGiveTheFullLossAndGradient) {
  for (DType dtype : {DType::F64, DType::F32}) {
    expect_shards_match_full(dtype, {0, 6, kVocab}, 0.1, 0.0);
    expect_shards_match_full(dtype, {0, 4, 8, kVocab}, 0.0, 0.0);
    expect_shards_match_full(dtype, {0, 1, 5, 9, kVocab}, 0.2, 0.0);
  }
}

TEST(VocabParallelCrossEntropy, LargeLogitsStayFinite) {
  expect_shards_match_full(DType::F32, {0, 6, kVocab}, 0.1, 80.0);
}

TEST(VocabParallelCrossEntropy, RefusesATargetOutsideTheVocabulary) {
  Tensor logits = random_tensor({2, 4}, DType::F32, 1);
  Tensor t = Tensor::from_vector(std::vector<int32_t>{1, 8}, {2});
  Tensor all_stats = Tensor::zeros({2, 2, 4}, DType::F64);
  Tensor losses = Tensor::empty({2});
  Tensor none;
  EXPECT_THAT(error_of([&] {
                ops::cross_entropy_shard_finish(logits, t, 4, 8, kIgnore, 0.0, 1.0, all_stats,
                                                losses, none);
              }),
              ::testing::HasSubstr("target 8 of row 1 is outside the vocabulary [0, 8)"));
  EXPECT_THAT(error_of([&] {
                ops::cross_entropy_shard_finish(logits, t, 6, 8, kIgnore, 0.0, 1.0, all_stats,
                                                losses, none);
              }),
              ::testing::HasSubstr("columns [6, 10) exceed the vocabulary of 8"));
}

}  // namespace
}  // namespace weft::testing
