// Checkpoints across precisions: a bf16 run saves bf16 values beside f32
// masters and moments; an f32 run saves f32 values. Either loads into the
// other: an f32 model takes the bf16 run's masters (its exact weights), a
// bf16 run takes an f32 run's values as its masters and rounds them.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "checkpoint_testing.h"
#include "support/training_runs.h"
#include "weft/backend/elementwise.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft {
namespace {

using testing::TrainingRun;

// Every named optimizer state (moments, masters) as doubles.
std::map<std::string, std::vector<double>> states_of(AdamW& optimizer) {
  std::map<std::string, std::vector<double>> out;
  for (const NamedTensor& s : optimizer.state_tensors()) out[s.name] = s.tensor->to_double_vector();
  return out;
}

std::vector<double> rounded_to_bf16(const Tensor& t) {
  Tensor wide = Tensor::empty(t.shape(), DType::F32), narrow = Tensor::empty(t.shape(), DType::BF16);
  wide.copy_from(t);
  ops::convert(wide, narrow);
  return narrow.to_double_vector();
}

// Three steps in `saved`, checkpointed, loaded into a fresh `loaded` run.
struct Handover {
  TrainingRun before, after;
  testing::ScratchDir dir;
  Handover(const std::string& family, DType saved, DType loaded)
      : before(testing::run_config(family), saved, Device::CPU),
        after(testing::run_config(family), loaded, Device::CPU) {
    const ModelConfig c = testing::run_config(family);
    testing::FixedBatches data(testing::make_run_batches(c, 3));
    for (int i = 0; i < 3; ++i) before.trainer->train_step(data);
    CheckpointState state;
    state.step = before.trainer->step();
    save_checkpoint(dir.path(), *before.model, *before.optimizer, state);
    const Checkpoint checkpoint = latest_checkpoint(dir.path());
    restore_model(*after.model, checkpoint);
    restore_optimizer(*after.optimizer, checkpoint);
  }
};

TEST(PrecisionCheckpoints, AnF32RunLoadsABf16RunsMasters) {
  for (const std::string family : {"gpt", "encoder-decoder"}) {
    SCOPED_TRACE(family);
    Handover h(family, DType::BF16, DType::F32);
    const auto saved = states_of(*h.before.optimizer);
    const auto loaded = states_of(*h.after.optimizer);
    for (Parameter* p : h.after.model->parameters()) {
      ASSERT_TRUE(saved.count(p->name + ".master")) << p->name;
      EXPECT_EQ(p->value.to_double_vector(), saved.at(p->name + ".master")) << p->name;
      for (const char* moment : {".exp_avg", ".exp_avg_sq"}) {
        EXPECT_EQ(loaded.at(p->name + moment), saved.at(p->name + moment)) << p->name << moment;
      }
    }
    EXPECT_EQ(loaded.size() * 3, saved.size() * 2) << "an f32 optimizer keeps no masters";
  }
}

TEST(PrecisionCheckpoints, ABf16RunTakesAnF32RunsValuesAsMasters) {
  for (const std::string family : {"gpt", "encoder-decoder"}) {
    SCOPED_TRACE(family);
    Handover h(family, DType::F32, DType::BF16);
    const auto saved = states_of(*h.before.optimizer);
    const auto loaded = states_of(*h.after.optimizer);
    const std::vector<Parameter*> before = h.before.model->parameters();
    const std::vector<Parameter*> after = h.after.model->parameters();
    for (size_t i = 0; i < after.size(); ++i) {
      const std::string& name = after[i]->name;
      EXPECT_EQ(loaded.at(name + ".master"), before[i]->value.to_double_vector()) << name;
      EXPECT_EQ(after[i]->value.to_double_vector(), rounded_to_bf16(before[i]->value)) << name;
      EXPECT_EQ(loaded.at(name + ".exp_avg"), saved.at(name + ".exp_avg")) << name;
    }
  }
}

// Training goes on after the change of precision.
TEST(PrecisionCheckpoints, TrainingContinuesInTheOtherPrecision) {
  const ModelConfig c = testing::run_config("gpt");
  for (const auto& [saved, loaded] : {std::pair{DType::BF16, DType::F32},
                                      std::pair{DType::F32, DType::BF16}}) {
    Handover h("gpt", saved, loaded);
    testing::FixedBatches more(testing::make_run_batches(c, 3));
    const double next = h.after.trainer->train_step(more).loss;
    testing::FixedBatches same(testing::make_run_batches(c, 3));
    const double straight = h.before.trainer->train_step(same).loss;
    EXPECT_NEAR(next, straight, 2e-2 * straight) << dtype_name(saved) << " -> " << dtype_name(loaded);
  }
}

}  // namespace
}  // namespace weft
