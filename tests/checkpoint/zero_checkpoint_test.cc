// ZeRO-1 checkpoints: every data-parallel rank saves the optimizer state it
// owns, flat, and a loader under any dp, with the distributed optimizer on or
// off, reassembles and re-splits it bit for bit; training resumed through
// such changes continues the uninterrupted single-rank run.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "checkpoint_testing.h"
#include "layout_runs.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

// Every optimizer state of a single-rank (plain) optimizer, by name.
using States = std::map<std::string, std::vector<double>>;
States plain_states(const std::string& checkpoint_dir, const ModelConfig& config) {
  States out;
  on_ranks({1, 1}, [&](const ProcessGroups& groups) {
    RankModel rank(config, groups, 99);
    restore_optimizer(*rank.optimizer, load_checkpoint(checkpoint_dir));
    for (const NamedTensor& s : rank.optimizer->state_tensors()) {
      EXPECT_FALSE(s.flat) << s.name;
      out[s.name] = s.tensor->to_double_vector();
    }
  });
  return out;
}

TEST(ZeroCheckpoint, MomentsReSplitBitExactlyAcrossDpWithZeroOnAndOff) {
  const ModelConfig config = tiny_config("gpt");
  ScratchDir first, second;
  train_layout({config, {2, 1}, 2, "", first.path(), /*zero=*/1});
  const Checkpoint saved = latest_checkpoint(first.path());
  EXPECT_EQ(saved.manifest.at("layout").at("zero"), 1);
  ASSERT_EQ(saved.shards.size(), 1u);
  EXPECT_TRUE(saved.shards[0].optimizer_path.empty());
  ASSERT_EQ(saved.shards[0].optimizer_parts.size(), 2u);
  EXPECT_EQ(fs::path(saved.shards[0].optimizer_parts[1]).filename(),
            "optimizer-dp01-of-02.safetensors");
  const States whole = plain_states(saved.dir, config);
  // AdamW has stepped: the moments are not the zeros a failed load leaves.
  double magnitude = 0.0;
  for (const auto& [name, values] : whole) {
    for (double v : values) magnitude += std::abs(v);
  }
  EXPECT_GT(magnitude, 0.0);

  // Four replicas with ZeRO: each holds exactly its ranges of the moments,
  // some of them parts of a parameter, some parameters not at all.
  std::mutex mutex;
  int64_t held = 0;
  on_ranks({4, 1}, [&](const ProcessGroups& groups) {
    RankModel rank(config, groups, 99, /*zero=*/1);
    ASSERT_TRUE(rank.optimizer->distributed());
    restore_optimizer(*rank.optimizer, load_checkpoint(saved.dir));
    int64_t mine = 0;
    for (const NamedTensor& s : rank.optimizer->state_tensors()) {
      ASSERT_TRUE(s.flat) << s.name;
      const std::vector<double>& all = whole.at(s.name);
      const std::vector<double> expected(all.begin() + s.range.begin, all.begin() + s.range.end);
      EXPECT_EQ(s.tensor->to_double_vector(), expected) << s.name << " on dp rank "
                                                        << groups.dp_rank();
      mine += s.range.size();
    }
    CheckpointState state;
    state.step = 2;
    save_checkpoint(second.path(), *rank.model, *rank.optimizer, state, 0, groups);
    std::lock_guard<std::mutex> lock(mutex);
    held += mine;
  });
  int64_t total = 0;
  for (const auto& [name, values] : whole) total += static_cast<int64_t>(values.size());
  EXPECT_EQ(held, total) << "the four replicas' ranges cover every state element once";

  // Saved again from four parts, loaded plain: the same bits.
  EXPECT_EQ(plain_states(latest_checkpoint(second.path()).dir, config), whole);
}

TEST(ZeroCheckpoint, AMissingPartIsRefusedByTheElementsItHeld) {
  const ModelConfig config = tiny_config("gpt");
  ScratchDir run;
  train_layout({config, {2, 1}, 1, "", run.path(), /*zero=*/1});
  const std::string dir = latest_checkpoint(run.path()).dir;
  // A manifest that lists one part only, consistently: the files check passes.
  std::ifstream in(dir + "/manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(in);
  in.close();
  manifest["shards"][0]["optimizer_parts"].erase(1);
  manifest["files"].erase("optimizer-dp01-of-02.safetensors");
  std::ofstream(dir + "/manifest.json") << manifest.dump(2);
  const Checkpoint c = load_checkpoint(dir);
  on_ranks({1, 1}, [&](const ProcessGroups& groups) {
    RankModel rank(config, groups, 99);
    const std::string message = error_of([&] { restore_optimizer(*rank.optimizer, c); });
    EXPECT_NE(message.find("the optimizer parts of shard 0 hold"), std::string::npos) << message;
  });
}

// 2 steps under dp 2 with ZeRO, 1 under dp 4 with ZeRO, 1 on one plain rank,
// 1 under 2 x 2 with ZeRO: the losses of one uninterrupted single-rank run.
TEST(ZeroCheckpoint, ResumingThroughDpAndZeroChangesContinuesTheSingleRankRun) {
  for (const char* family : {"gpt", "encoder-decoder"}) {
    const ModelConfig config = tiny_config(family);
    const std::vector<double> reference = train_layout({config, {1, 1}, 5});
    struct Leg {
      Layout layout;
      int64_t steps;
      int zero;
    };
    std::vector<double> losses;
    std::string from;
    std::vector<std::unique_ptr<ScratchDir>> runs;
    for (const Leg& leg : {Leg{{2, 1}, 2, 1}, Leg{{4, 1}, 1, 1}, Leg{{1, 1}, 1, 0},
                           Leg{{2, 2}, 1, 1}}) {
      runs.push_back(std::make_unique<ScratchDir>());
      const std::vector<double> part =
          train_layout({config, leg.layout, leg.steps, from, runs.back()->path(), leg.zero});
      losses.insert(losses.end(), part.begin(), part.end());
      from = latest_checkpoint(runs.back()->path()).dir;
    }
    ASSERT_EQ(losses.size(), reference.size());
    for (size_t s = 0; s < reference.size(); ++s) {
      EXPECT_NEAR(losses[s], reference[s], 1e-5 * std::abs(reference[s]))
          << family << ", step " << s + 1;
    }
  }
}

}  // namespace
}  // namespace weft::testing
