// mlm_mask: BERT's 15% / 80-10-10 within statistical bounds, specials never
// touched, the same masks under any split of the rows, a new mask each step,
// and refusals of bad options.

#include "weft/data/mlm_masking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <set>

#include "support/error_testing.h"
#include "weft/data/batch.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;

// Specials scattered through the vocabulary, so random draws must step over
// each of them; mask_id among them.
MlmMasking options() {
  MlmMasking m;
  m.vocab_size = 100;
  m.mask_id = 50;
  m.special = {0, 5, 50, 99};
  return m;
}

bool is_special(int32_t id) {
  return id == 0 || id == 5 || id == 50 || id == 99;
}

// (rows, cols) ids, mostly ordinary tokens, every 16th position a special.
Tensor token_ids(int64_t rows, int64_t cols, uint64_t seed = 1) {
  std::vector<int32_t> ids(rows * cols);
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t bits = rng::mix64(seed ^ rng::mix64(i));
    ids[i] = i % 16 == 0 ? std::array<int32_t, 4>{0, 5, 50, 99}[bits % 4]
                         : static_cast<int32_t>(bits % 100);
  }
  return Tensor::from_vector(ids, {rows, cols});
}

Tensor i32(std::vector<int32_t> ids, const Shape& shape) {
  return Tensor::from_vector(ids, shape);
}

std::vector<int32_t> values(const Tensor& t) {
  const int32_t* p = t.data<int32_t>();
  return {p, p + t.numel()};
}

// |observed - n·p| within 5 standard deviations of a binomial(n, p).
void expect_share(int64_t observed, int64_t n, double p, const char* what) {
  const double expected = static_cast<double>(n) * p;
  const double sigma = std::sqrt(static_cast<double>(n) * p * (1.0 - p));
  EXPECT_LE(std::abs(static_cast<double>(observed) - expected), 5.0 * sigma)
      << what << ": " << observed << " of " << n << ", expected about " << expected;
}

TEST(MlmMask, SharesMatchBert) {
  const MlmMasking m = options();
  const Tensor ids = token_ids(128, 512);
  Tensor input, target;
  const int64_t selected = mlm_mask(ids, m, 17, 3, 0, input, target);
  const std::vector<int32_t> original = values(ids), in = values(input), tgt = values(target);

  int64_t candidates = 0, masked = 0, replaced = 0, kept = 0, counted = 0;
  std::set<int32_t> drawn;
  for (size_t i = 0; i < original.size(); ++i) {
    if (is_special(original[i])) {
      EXPECT_EQ(in[i], original[i]);
      EXPECT_EQ(tgt[i], kIgnoreIndex);
      continue;
    }
    ++candidates;
    if (tgt[i] == kIgnoreIndex) {
      EXPECT_EQ(in[i], original[i]);
      continue;
    }
    ++counted;
    EXPECT_EQ(tgt[i], original[i]);
    if (in[i] == m.mask_id) {
      ++masked;
    } else if (in[i] == original[i]) {
      ++kept;
    } else {
      ++replaced;
      EXPECT_FALSE(is_special(in[i])) << in[i];
      drawn.insert(in[i]);
    }
  }
  EXPECT_EQ(selected, counted);
  expect_share(selected, candidates, 0.15, "selected");
  // A random draw equals the original token once in 96 (the ordinary ids).
  const double same = 1.0 / 96.0;
  expect_share(masked, selected, 0.8, "masked");
  expect_share(replaced, selected, 0.1 * (1.0 - same), "replaced");
  expect_share(kept, selected, 0.1 + 0.1 * same, "kept");
  // Draws cover the ordinary ids, the ends and those next to a special included.
  EXPECT_EQ(drawn.size(), 96u);
  EXPECT_EQ(*drawn.begin(), 1);
  EXPECT_EQ(*drawn.rbegin(), 98);
}

TEST(MlmMask, SpecialsAreNeverSelectedNorDrawn) {
  MlmMasking m = options();
  m.select = 1.0, m.mask = 0.0, m.random = 1.0;
  const Tensor ids = token_ids(16, 64);
  Tensor input, target;
  mlm_mask(ids, m, 1, 0, 0, input, target);
  const std::vector<int32_t> original = values(ids), in = values(input), tgt = values(target);
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(tgt[i] == kIgnoreIndex, is_special(original[i])) << i;
    EXPECT_EQ(is_special(in[i]), is_special(original[i])) << i;
  }
  // mask_id is special even when `special` leaves it out.
  m.special = {0, 5, 99};
  mlm_mask(i32({50, 50, 50}, {1, 3}), m, 1, 0, 0, input, target);
  EXPECT_EQ(values(target), (std::vector<int32_t>(3, kIgnoreIndex)));
  m.select = 0.0;
  EXPECT_EQ(mlm_mask(ids, m, 1, 0, 0, input, target), 0);
  EXPECT_EQ(values(input), values(ids));
}

TEST(MlmMask, AnySplitOfTheRowsGivesTheSameMasks) {
  const MlmMasking m = options();
  const Tensor ids = token_ids(8, 40);
  Tensor whole_input, whole_target;
  mlm_mask(ids, m, 5, 9, 0, whole_input, whole_target);
  for (const int64_t cut : {1, 3, 4, 7}) {
    // Rows [0, cut) on one rank, [cut, 8) on another.
    const std::vector<int32_t> all = values(ids);
    const Tensor first = i32({all.begin(), all.begin() + cut * 40}, {cut, 40});
    const Tensor second = i32({all.begin() + cut * 40, all.end()}, {8 - cut, 40});
    Tensor in0, tgt0, in1, tgt1;
    const int64_t n =
        mlm_mask(first, m, 5, 9, 0, in0, tgt0) + mlm_mask(second, m, 5, 9, cut, in1, tgt1);
    std::vector<int32_t> input = values(in0), target = values(tgt0);
    for (const int32_t v : values(in1)) input.push_back(v);
    for (const int32_t v : values(tgt1)) target.push_back(v);
    EXPECT_EQ(input, values(whole_input)) << "cut " << cut;
    EXPECT_EQ(target, values(whole_target)) << "cut " << cut;
    EXPECT_EQ(n, whole_target.numel() - std::count(target.begin(), target.end(), kIgnoreIndex));
  }
  // A row's mask depends on its global index, not on where it sits in the tensor.
  Tensor shifted_input, shifted_target;
  mlm_mask(ids, m, 5, 9, 1, shifted_input, shifted_target);
  EXPECT_NE(values(shifted_target), values(whole_target));
}

TEST(MlmMask, DeterministicAndNewForEachStepAndSeed) {
  const MlmMasking m = options();
  const Tensor ids = token_ids(4, 64);
  Tensor a_in, a_tgt, b_in, b_tgt, c_in, c_tgt, d_in, d_tgt;
  mlm_mask(ids, m, 7, 100, 0, a_in, a_tgt);
  mlm_mask(ids, m, 7, 100, 0, b_in, b_tgt);
  EXPECT_EQ(values(a_in), values(b_in));
  EXPECT_EQ(values(a_tgt), values(b_tgt));
  mlm_mask(ids, m, 7, 101, 0, c_in, c_tgt);
  EXPECT_NE(values(a_tgt), values(c_tgt));
  mlm_mask(ids, m, 8, 100, 0, d_in, d_tgt);
  EXPECT_NE(values(a_tgt), values(d_tgt));
  // Outputs are reused: a second call into the same tensors overwrites them.
  mlm_mask(ids, m, 7, 101, 0, a_in, a_tgt);
  EXPECT_EQ(values(a_tgt), values(c_tgt));
}

TEST(MlmMask, RefusesBadOptionsNamingTheField) {
  struct Case {
    std::function<void(MlmMasking&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](MlmMasking& m) { m.select = 1.5; }, "select = 1.5"},
      {[](MlmMasking& m) { m.select = std::nan(""); }, "select"},
      {[](MlmMasking& m) { m.mask = -0.1; }, "mask = -0.1"},
      {[](MlmMasking& m) { m.random = 2; }, "random = 2"},
      {[](MlmMasking& m) { m.mask = 0.7, m.random = 0.4; }, "mask + random"},
      {[](MlmMasking& m) { m.vocab_size = 0; }, "vocab_size"},
      {[](MlmMasking& m) { m.mask_id = -1; }, "mask_id -1"},
      {[](MlmMasking& m) { m.mask_id = 100; }, "mask_id 100"},
      {[](MlmMasking& m) { m.special.push_back(100); }, "special id 100"},
      {[](MlmMasking& m) { m.vocab_size = 1, m.mask_id = 0, m.special = {0}; }, "no token to draw"},
  };
  for (const Case& c : cases) {
    MlmMasking m = options();
    c.change(m);
    const std::string message = error_of([&] { m.validate(); });
    EXPECT_NE(message.find(c.message), std::string::npos) << c.message << ": " << message;
  }
  MlmMasking only_mask = options();
  only_mask.vocab_size = 1, only_mask.mask_id = 0, only_mask.special = {0}, only_mask.random = 0;
  EXPECT_NO_THROW(only_mask.validate());

  Tensor input, target;
  const MlmMasking m = options();
  EXPECT_NE(error_of([&] {
              mlm_mask(i32({1, 2}, {2}), m, 0, 0, 0, input, target);
            }).find("(B,T) i32"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        mlm_mask(Tensor::from_vector(std::vector<float>{1, 2}, {1, 2}), m, 0, 0, 0, input, target);
      }).find("(B,T) i32"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              mlm_mask(i32({1, 100}, {1, 2}), m, 0, 0, 0, input, target);
            }).find("token 100 at row 0, position 1"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { mlm_mask(token_ids(1, 2), m, 0, 0, -1, input, target); }).find("first_row"),
      std::string::npos);
}

TEST(MlmMask, OptionsForATokenizer) {
  const auto tok = make_byte_tokenizer(/*with_specials=*/true, /*mlm_specials=*/true);
  const MlmMasking m = mlm_masking_for(*tok);
  EXPECT_EQ(m.vocab_size, 262);
  EXPECT_EQ(m.mask_id, 5);
  EXPECT_EQ(std::set<int32_t>(m.special.begin(), m.special.end()),
            (std::set<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(m.select, 0.15);
  EXPECT_NO_THROW(m.validate());
  const std::string message = error_of([] { mlm_masking_for(*make_byte_tokenizer(true)); });
  EXPECT_NE(message.find("--mlm-specials"), std::string::npos) << message;
}

}  // namespace
}  // namespace weft
