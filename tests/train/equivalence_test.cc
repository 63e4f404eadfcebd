// Invariant 2: for any dp × tp and the same seed and global batch, the losses
// of the first steps and the weights after them equal the single-rank run,
// with dropout and label smoothing on. Every layout runs as simulated ranks
// (threads); the mpirun suite repeats the 2×2 case with processes.

#include <gtest/gtest.h>

#include <optional>

#include "train/parallel_testing.h"

namespace weft::testing {
namespace {

class Equivalence : public ::testing::TestWithParam<std::tuple<const char*, Layout>> {};

RunSpec spec_of(const ModelConfig& config, DType dtype, int64_t grad_accum = 1,
                bool varied_lengths = false, int zero = 0) {
  RunSpec spec;
  spec.config = config;
  spec.dtype = dtype;
  spec.grad_accum = grad_accum;
  spec.varied_lengths = varied_lengths;
  spec.zero = zero;
  return spec;
}

void expect_same_run(const RunSpec& spec, const Layout& layout, double loss_rel,
                     double weight_rel, std::optional<double> zero_gradient_abs) {
  const RunResult reference = train_single_rank(spec);
  const RunResult parallel = train_simulated(spec, layout.dp, layout.tp);

  ASSERT_EQ(parallel.losses.size(), reference.losses.size());
  for (size_t s = 0; s < reference.losses.size(); ++s) {
    EXPECT_NEAR(parallel.losses[s], reference.losses[s], loss_rel * std::abs(reference.losses[s]))
        << "step " << s + 1 << " under " << layout_name(layout);
  }
  ASSERT_EQ(parallel.weights.size(), reference.weights.size());
  for (const auto& [name, full] : reference.weights) {
    ASSERT_TRUE(parallel.weights.count(name)) << name << " missing under " << layout_name(layout);
    if (has_zero_true_gradient(name)) {
      // Never trained in exact arithmetic: they stay at rounding-noise size.
      if (!zero_gradient_abs) continue;
      EXPECT_TRUE(close_in_norm(parallel.weights.at(name), full, 0.0, *zero_gradient_abs))
          << name << " under " << layout_name(layout);
      continue;
    }
    EXPECT_TRUE(close_in_norm(parallel.weights.at(name), full, weight_rel))
        << name << " under " << layout_name(layout);
  }
}

TEST_P(Equivalence, F32LossesAndWeightsMatchTheSingleRank) {
  const auto& [family, layout] = GetParam();
  // Attention key biases have a zero gradient in exact arithmetic, so in f32
  // AdamW turns each layout's rounding noise into different updates of up to
  // lr per step; the f64 tests check them.
  expect_same_run(spec_of(tiny_config(family), DType::F32), layout, 1e-5, 1e-5, std::nullopt);
}

TEST_P(Equivalence, F64EveryWeightMatchesTheSingleRank) {
  const auto& [family, layout] = GetParam();
  expect_same_run(spec_of(tiny_config(family), DType::F64), layout, 1e-10, 1e-9, 1e-12);
}

TEST_P(Equivalence, GradientAccumulationMatchesTheSingleRank) {
  const auto& [family, layout] = GetParam();
  expect_same_run(spec_of(tiny_config(family), DType::F64, 2), layout, 1e-10, 1e-9, 1e-12);
}

// ZeRO-1: each replica updates only its slice of every bucket, from
// reduce-scattered gradients, and all-gathers the rest. The gradient norm
// is summed from the slices, in another order than one rank's.
TEST_P(Equivalence, ZeroOneF32MatchesTheSingleRank) {
  const auto& [family, layout] = GetParam();
  expect_same_run(spec_of(tiny_config(family), DType::F32, 1, false, 1), layout, 1e-5, 1e-5,
                  std::nullopt);
}

TEST_P(Equivalence, ZeroOneF64WithAccumulationMatchesTheSingleRank) {
  const auto& [family, layout] = GetParam();
  expect_same_run(spec_of(tiny_config(family), DType::F64, 2, false, 1), layout, 1e-10, 1e-9,
                  1e-12);
}

// Activation recompute drops activations in forward and recomputes them in
// backward from the same inputs and dropout keys: every loss and weight is
// bit-identical to the same layout's run without it, and so matches one rank
// as that run does.
TEST_P(Equivalence, RecomputeIsBitIdenticalToKeepingActivations) {
  const auto& [family, layout] = GetParam();
  ModelConfig config = tiny_config(family);
  config.label_smoothing = 0.1;
  RunSpec spec = spec_of(config, DType::F32, 2, true);
  const RunResult kept = train_simulated(spec, layout.dp, layout.tp);
  for (Recompute mode : {Recompute::Selective, Recompute::Full}) {
    spec.recompute = mode;
    const RunResult recomputed = train_simulated(spec, layout.dp, layout.tp);
    EXPECT_EQ(recomputed.losses, kept.losses) << recompute_name(mode);
    for (const auto& [name, value] : kept.weights) {
      EXPECT_EQ(recomputed.weights.at(name).to_double_vector(), value.to_double_vector())
          << name << ", " << recompute_name(mode) << " under " << layout_name(layout);
    }
  }
}

// Sequence parallelism: layer norms, dropout and residuals hold 1/tp of the
// token rows (padded to a multiple of tp), sublayers gather them and
// reduce-scatter their outputs, layer-norm gradients are summed over the TP
// group. 12 rows of varied lengths: under 2 x 2 and 2 x 4 a rank's rows end
// inside a sequence, and odd lengths pad the rows to a multiple of tp;
// dropout is keyed by row.
TEST_P(Equivalence, SequenceParallelMatchesTheSingleRank) {
  const auto& [family, layout] = GetParam();
  ModelConfig config = tiny_config(family);
  config.label_smoothing = 0.1;
  RunSpec f32 = spec_of(config, DType::F32, 2, true);
  f32.sequence_parallel = true;
  f32.micro_batch_rows = 12;
  expect_same_run(f32, layout, 1e-5, 1e-4, std::nullopt);
  RunSpec f64 = spec_of(config, DType::F64, 1, true, /*zero=*/1);
  f64.sequence_parallel = true;
  f64.micro_batch_rows = 12;
  f64.recompute = Recompute::Full;
  expect_same_run(f64, layout, 1e-10, 1e-9, 1e-12);
}

// Sentences of different lengths: each data-parallel rank pads to its own
// longest one, so its tensors are shorter than the single rank's. Dropout
// masks are keyed by sentence and position, not by the padded layout. In f64
// every weight matches to 1e-9: the layouts compute the same function. In
// f32 the losses match to 1e-5; the encoder-decoder's weights drift up to
// 5e-5 (in norm; GCC and clang builds differ) after five AdamW steps, which
// turn the layouts' different summation orders into different updates where
// a gradient is near zero.
TEST_P(Equivalence, VariedLengthsWithDropoutMatchTheSingleRank) {
  const auto& [family, layout] = GetParam();
  ModelConfig config = tiny_config(family);
  config.label_smoothing = 0.1;
  expect_same_run(spec_of(config, DType::F32, 1, true), layout, 1e-5, 1e-4, std::nullopt);
}

TEST_P(Equivalence, VariedLengthsWithDropoutF64MatchTheSingleRank) {
  const auto& [family, layout] = GetParam();
  ModelConfig config = tiny_config(family);
  config.label_smoothing = 0.1;
  expect_same_run(spec_of(config, DType::F64, 1, true), layout, 1e-10, 1e-9, 1e-12);
}

// 33 tokens padded to a multiple of 16 × 4 = 64 rows: tensor-parallel rank 3
// holds only padding (rows 48..63) and rank 2 one real row. Empty shards
// still take part in the loss's collectives.
TEST(PaddedVocabulary, AShardOfPaddingOnlyMatchesTheSingleRank) {
  for (const char* family : {"gpt", "encoder-decoder", "llama", "bert"}) {
    ModelConfig config = tiny_config(family);
    config.vocab_multiple = 16;
    expect_same_run(spec_of(config, DType::F64), Layout{1, 4}, 1e-10, 1e-9, 1e-12);
    expect_same_run(spec_of(config, DType::F32), Layout{2, 4}, 1e-5, 1e-5, std::nullopt);
  }
}

// ZeRO-1's parameter all-gathers, left in flight by each step, are waited
// for bucket by bucket as the next forward reaches them: the same values as
// gathering them all before the step returns, bit for bit.
TEST(ZeroOneGathers, OverlapTheNextForwardWithTheSameResult) {
  for (const char* family : {"gpt", "encoder-decoder"}) {
    for (const Layout layout : {Layout{2, 1}, Layout{2, 2}, Layout{4, 1}}) {
      SCOPED_TRACE(std::string(family) + " under " + layout_name(layout));
      RunSpec spec = spec_of(tiny_config(family), DType::F32, 1, false, 1);
      spec.steps = 3;
      spec.overlap = false;
      const RunResult blocking = train_simulated(spec, layout.dp, layout.tp);
      spec.overlap = true;
      const RunResult overlapped = train_simulated(spec, layout.dp, layout.tp);

      EXPECT_EQ(overlapped.losses, blocking.losses);
      for (const auto& [name, full] : blocking.weights) {
        EXPECT_TRUE(close_in_norm(overlapped.weights.at(name), full, 0.0)) << name;
      }
      for (size_t r = 0; r < overlapped.bucket_counts.size(); ++r) {
        const int64_t buckets = overlapped.bucket_counts[r];
        ASSERT_GT(buckets, 1) << "rank " << r;
        // Step 1 follows no gather; every later forward met every bucket's.
        EXPECT_EQ(overlapped.overlapped_gathers[r], (std::vector<int64_t>{0, buckets, buckets}))
            << "rank " << r;
        EXPECT_EQ(blocking.overlapped_gathers[r], (std::vector<int64_t>{0, 0, 0})) << "rank " << r;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, Equivalence,
    ::testing::Combine(::testing::Values("gpt", "encoder-decoder", "llama", "bert"),
                       ::testing::Values(Layout{1, 1}, Layout{2, 1}, Layout{1, 2}, Layout{2, 2},
                                         Layout{4, 1}, Layout{1, 4}, Layout{2, 4})),
    [](const auto& info) {
      return family_label(std::get<0>(info.param)) + "_" + layout_name(std::get<1>(info.param));
    });

}  // namespace
}  // namespace weft::testing
