#pragma once
// Runs the same small training job on one rank and under a dp × tp layout of
// simulated ranks, and collects what the equivalence and resharding tests
// compare: each step's loss and every parameter's full value afterwards.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "support/parallel_layouts.h"
#include "weft/comm/process_groups.h"
#include "weft/model/model.h"

namespace weft::testing {

struct RunSpec {
  ModelConfig config;
  DType dtype = DType::F32;
  int64_t grad_accum = 1;
  int64_t steps = 5;
  int64_t micro_batch_rows = 8;  // global rows of one micro-batch
  int64_t seq_len = 8;
  // Sentences of different lengths, padded: the single rank pads each
  // micro-batch to its longest sentence, and every data-parallel rank pads
  // its rows to their own longest one, as the translation loader does.
  bool varied_lengths = false;
  // Under dp > 1: 1 = ZeRO-1, the distributed optimizer (parallel.zero).
  int zero = 0;
  Recompute recompute = Recompute::None;
  bool sequence_parallel = false;  // under tp > 1
  // Gradient reductions overlap backward, ZeRO's gathers the next forward.
  bool overlap = true;
};

struct RunResult {
  std::vector<double> losses;
  // Every rank's: its DP buckets, and per step the buckets whose parameter
  // gather the forward pass waited for (StepStats::overlapped_gathers).
  std::vector<int64_t> bucket_counts;
  std::vector<std::vector<int64_t>> overlapped_gathers;
  std::map<std::string, Tensor> weights;  // full (merged) f64 values by parameter name
};

RunResult train_single_rank(const RunSpec& spec);
// Fails the current test if data-parallel replicas end with different weights.
RunResult train_simulated(const RunSpec& spec, int dp, int tp);

// Attention key biases: softmax ignores a constant added to every key score.
bool has_zero_true_gradient(const std::string& parameter_name);

// ‖actual − expected‖ <= rel · ‖expected‖ + abs, in the Frobenius norm of
// the whole tensor: AdamW can turn rounding noise in a near-zero gradient
// element into a visible step, so single elements are not compared.
::testing::AssertionResult close_in_norm(const Tensor& actual, const Tensor& expected, double rel,
                                         double abs = 0.0);

}  // namespace weft::testing
