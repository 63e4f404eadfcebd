// Model-state memory: what a training rank measurably holds (weights,
// gradient buckets, AdamW state) equals the computed accounting under every
// layout, with ZeRO-1 on and off; and GPT-2 124M follows ZeRO's per-parameter
// figures (16 → 8 + 8/dp bytes in f32, 16 → 4 + 12/dp with bf16 weights).

#include "weft/train/model_state_memory.h"

#include <gtest/gtest.h>

#include <mutex>

#include "support/parallel_layouts.h"
#include "weft/comm/simulated.h"
#include "weft/model/factory.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::testing {
namespace {

constexpr int64_t kBucketBytes = 4096;

// Dp rank 0's measured model state, after a trainer has set up its buckets.
ModelStateBytes measured_on_rank0(const ModelConfig& config, const Layout& layout, bool zero,
                                  DType dtype) {
  std::mutex mutex;
  ModelStateBytes out;
  run_simulated_ranks(layout.dp * layout.tp, [&](std::shared_ptr<Communicator> world) {
    const ProcessGroups groups = make_process_groups(world, layout.tp);
    LayerContext ctx;
    ctx.tp = groups.tp;
    ctx.dtype = dtype;
    auto model = make_model(config, ctx);
    TrainerOptions options;
    options.buckets.bucket_bytes = kBucketBytes;
    const bool sharded = zero && groups.dp_size() > 1;
    AdamW optimizer(model->parameters(), AdamWOptions{},
                    sharded ? zero_owned_ranges(model->parameters(), groups.dp_rank(),
                                                groups.dp_size(), options.buckets)
                            : std::vector<ElementRange>{});
    ConstantSchedule schedule(1e-3);
    Trainer trainer(*model, optimizer, schedule, options, groups);
    const ModelStateBytes mine =
        measure_model_state(optimizer.parameters(), optimizer, trainer.buckets());
    std::lock_guard<std::mutex> lock(mutex);
    if (groups.dp_rank() == 0 && groups.tp_rank() == 0) out = mine;
  });
  return out;
}

void expect_equal(const ModelStateBytes& measured, const ModelStateBytes& computed,
                  const std::string& what) {
  EXPECT_EQ(measured.parameters, computed.parameters) << what;
  EXPECT_EQ(measured.weights, computed.weights) << what;
  EXPECT_EQ(measured.gradients, computed.gradients) << what;
  EXPECT_EQ(measured.optimizer, computed.optimizer) << what;
}

TEST(ModelStateMemory, MeasuredEqualsComputedUnderEveryLayout) {
  for (const char* family : {"gpt", "encoder-decoder"}) {
    const ModelConfig config = tiny_config(family);
    for (const Layout& layout : {Layout{1, 1}, Layout{2, 1}, Layout{4, 1}, Layout{2, 2}}) {
      for (bool zero : {false, true}) {
        for (DType dtype : {DType::F32, DType::F64, DType::BF16}) {
          const std::string what = std::string(family) + " " + layout_name(layout) +
                                   (zero ? " ZeRO-1 " : " ") + dtype_name(dtype);
          expect_equal(measured_on_rank0(config, layout, zero, dtype),
                       model_state_bytes(config, layout.tp, layout.dp, zero, dtype, kBucketBytes),
                       what);
        }
      }
    }
  }
}

TEST(ModelStateMemory, ZeroOneShrinksTheOptimizerStateByDp) {
  const ModelConfig config = tiny_config("gpt");
  const ModelStateBytes one = measured_on_rank0(config, {1, 1}, true, DType::F32);
  const ModelStateBytes four = measured_on_rank0(config, {4, 1}, true, DType::F32);
  EXPECT_EQ(one.optimizer, 8 * one.parameters);
  // A quarter, give or take the 64-element slice padding at bucket ends.
  EXPECT_LE(four.optimizer, one.optimizer / 4 + 8 * 64 * 16);
  EXPECT_GE(four.optimizer, one.optimizer / 4 - 8 * 64 * 16);
}

TEST(ModelStateMemory, Gpt2FollowsZerosBytesPerParameter) {
  const ModelConfig c = model_preset("gpt2-124m");
  for (int64_t dp : {1, 2, 4, 8}) {
    const double f32 = model_state_bytes(c, 1, dp, true, DType::F32, 25 << 20).per_parameter();
    EXPECT_NEAR(f32, 8.0 + 8.0 / dp, 0.01) << "dp " << dp;
    const double bf16 = model_state_bytes(c, 1, dp, true, DType::BF16, 25 << 20).per_parameter();
    EXPECT_NEAR(bf16, 6.0 + 12.0 / dp, 0.01) << "dp " << dp;  // f32 main gradients
    EXPECT_NEAR(model_state_bytes(c, 1, dp, false, DType::F32, 25 << 20).per_parameter(), 16.0,
                1e-9)
        << "dp " << dp;
  }
}

}  // namespace
}  // namespace weft::testing
