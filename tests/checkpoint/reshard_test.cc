// Invariant 3: a checkpoint written under one layout loads under another and
// training goes on with the same losses. k steps under layout A, a
// collective save, then fresh ranks under layout B restore model and
// optimizer and take m more steps; every loss must equal one uninterrupted
// single-rank run of k + m steps to 1e-5 relative (f32, dropout on).

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "checkpoint_testing.h"
#include "layout_runs.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft::testing {
namespace {

constexpr int64_t kBefore = 2;  // steps under the saving layout
constexpr int64_t kAfter = 2;   // steps under the loading layout
constexpr double kRel = 1e-5;

// The uninterrupted single-rank losses, computed once per family.
const std::vector<double>& reference_losses(const std::string& family) {
  static std::map<std::string, std::vector<double>> cache;
  auto it = cache.find(family);
  if (it == cache.end()) {
    it = cache.emplace(family, train_layout({tiny_config(family), {1, 1}, kBefore + kAfter}))
             .first;
  }
  return it->second;
}

struct Reshard {
  Layout saved, loaded;
};

class ResumeUnderAnotherLayout : public ::testing::TestWithParam<std::tuple<const char*, Reshard>> {
};

TEST_P(ResumeUnderAnotherLayout, LossesMatchTheUninterruptedSingleRankRun) {
  const auto& [family, reshard] = GetParam();
  const ModelConfig config = tiny_config(family);
  const std::vector<double>& reference = reference_losses(family);
  ScratchDir run;

  std::vector<double> losses = train_layout({config, reshard.saved, kBefore, "", run.path()});
  const Checkpoint c = latest_checkpoint(run.path());
  ASSERT_EQ(c.step, kBefore);
  EXPECT_EQ(c.tp, reshard.saved.tp);
  EXPECT_EQ(c.dp, reshard.saved.dp);
  const std::vector<double> resumed = train_layout({config, reshard.loaded, kAfter, c.dir, ""});
  losses.insert(losses.end(), resumed.begin(), resumed.end());

  ASSERT_EQ(losses.size(), reference.size());
  for (size_t s = 0; s < reference.size(); ++s) {
    EXPECT_NEAR(losses[s], reference[s], kRel * std::abs(reference[s]))
        << "step " << s + 1 << (s < kBefore ? " under " : " resumed under ")
        << layout_name(s < kBefore ? reshard.saved : reshard.loaded);
  }
  // The continued steps change the loss: the test is not trivially true.
  EXPECT_NE(reference[kBefore], reference[kBefore + 1]);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, ResumeUnderAnotherLayout,
    ::testing::Combine(::testing::Values("gpt", "encoder-decoder", "llama", "bert"),
                       ::testing::Values(Reshard{{2, 2}, {1, 1}}, Reshard{{1, 1}, {4, 1}},
                                         Reshard{{1, 2}, {2, 1}}, Reshard{{1, 2}, {1, 4}},
                                         Reshard{{1, 4}, {1, 2}})),
    [](const auto& info) {
      const Reshard& r = std::get<1>(info.param);
      return family_label(std::get<0>(info.param)) + "_" + layout_name(r.saved) + "_to_" +
             layout_name(r.loaded);
    });

}  // namespace
}  // namespace weft::testing
