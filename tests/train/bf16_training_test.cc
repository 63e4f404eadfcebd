// bf16 mixed precision on the CPU: bf16 weights and activations, f32 main
// gradients, masters and moments, trained by the same trainer as f32. A tiny
// GPT and a tiny encoder-decoder follow their f32 runs for 100 steps within
// the budget the GPU runs are held to, steady-state steps allocate nothing,
// and data and tensor parallel layouts stay within bf16's budget of one rank.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "support/training_runs.h"
#include "train/parallel_testing.h"
#include "weft/backend/gemm.h"
#include "weft/tensor/allocator.h"

namespace weft::testing {
namespace {

constexpr int64_t kSteps = 100;

// ‖a − b‖ over all elements (f64 tensors of one shape).
double distance(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(sum);
}

void expect_bf16_follows_f32(const std::string& family) {
  const ModelConfig c = run_config(family);
  const std::vector<double> f32 = train_losses(c, DType::F32, Device::CPU, kSteps);
  const std::vector<double> bf16 = train_losses(c, DType::BF16, Device::CPU, kSteps);
  EXPECT_TRUE(same_losses(bf16, f32, run_loss_budget(DType::BF16)))
      << family << "; bf16 GEMMs: " << ops::cpu_bf16_gemm_path();
  EXPECT_LT(bf16.back(), bf16.front()) << family << " did not learn in bf16";
  std::printf("%s, bf16 on cpu: loss %.4f -> %.4f (f32 %.4f -> %.4f)\n", family.c_str(),
              bf16.front(), bf16.back(), f32.front(), f32.back());
}

TEST(Bf16Training, TinyGptFollowsF32) { expect_bf16_follows_f32("gpt"); }
TEST(Bf16Training, TinyEncoderDecoderFollowsF32) { expect_bf16_follows_f32("encoder-decoder"); }

// Gradients are f32 beside bf16 values; the optimizer keeps f32 masters.
TEST(Bf16Training, ParametersHoldBf16ValuesAndF32Gradients) {
  TrainingRun run(run_config("gpt"), DType::BF16, Device::CPU);
  for (const Parameter* p : run.model->parameters()) {
    EXPECT_EQ(p->value.dtype(), DType::BF16) << p->name;
    EXPECT_EQ(p->grad.dtype(), DType::F32) << p->name;
  }
  const std::vector<std::string> states = run.optimizer->state_names();
  EXPECT_NE(std::find(states.begin(), states.end(), "decoder.embed_tokens.weight.master"),
            states.end());
}

// The widening scratch and the GEMM primitives are made by the first step.
TEST(Bf16Training, StepsAfterTheFirstAllocateNothing) {
  for (const std::string family : {"gpt", "encoder-decoder"}) {
    SCOPED_TRACE(family);
    const ModelConfig c = run_config(family);
    TrainingRun run(c, DType::BF16, Device::CPU);
    FixedBatches data(make_run_batches(c, 1));
    run.trainer->train_step(data);
    const int64_t allocations = allocation_count();
    for (int s = 0; s < 3; ++s) run.trainer->train_step(data);
    EXPECT_EQ(allocation_count(), allocations) << "tensor storage allocated by steps 2 to 4";
  }
}

// Data parallelism reduces the f32 main gradients; ZeRO-1 gathers bf16
// values. Every layout stays within bf16's budget of the single rank.
TEST(Bf16Training, LayoutsStayWithinTheBudgetOfOneRank) {
  for (const char* family : {"gpt", "encoder-decoder"}) {
    RunSpec spec;
    spec.config = tiny_config(family);
    spec.dtype = DType::BF16;
    const RunResult reference = train_single_rank(spec);
    RunSpec f32_spec = spec;
    f32_spec.dtype = DType::F32;
    const RunResult f32 = train_single_rank(f32_spec);
    for (const Layout layout : {Layout{2, 1}, Layout{1, 2}, Layout{2, 2}}) {
      for (int zero : {0, 1}) {
        if (zero == 1 && layout.dp == 1) continue;  // ZeRO shards over data-parallel ranks
        SCOPED_TRACE(std::string(family) + " under " + layout_name(layout) +
                     (zero ? " with ZeRO-1" : ""));
        spec.zero = zero;
        const RunResult parallel = train_simulated(spec, layout.dp, layout.tp);
        ASSERT_EQ(parallel.losses.size(), reference.losses.size());
        for (size_t s = 0; s < reference.losses.size(); ++s) {
          EXPECT_NEAR(parallel.losses[s], reference.losses[s], 1e-2 * reference.losses[s])
              << "step " << s + 1;
        }
        // Weights: the layout moves them from one rank's bf16 run by the
        // order that bf16 itself moves one rank's run from f32 (tensor
        // parallelism rounds each partial sum before adding it: a few times
        // more), never by the weights' size, as a lost or doubled term would.
        for (const auto& [name, full] : reference.weights) {
          if (has_zero_true_gradient(name)) continue;  // rounding noise only
          const double layout_error = distance(parallel.weights.at(name), full);
          const double precision_error = distance(full, f32.weights.at(name));
          const double size = distance(full, Tensor::zeros(full.shape(), DType::F64));
          EXPECT_LE(layout_error, 4.0 * precision_error + 1e-3 * size) << name;
        }
      }
    }
  }
}

}  // namespace
}  // namespace weft::testing
