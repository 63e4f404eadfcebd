#pragma once
// A tiny training job run under a dp × tp layout of simulated ranks, saved
// collectively and resumed under another layout: what the resharding tests
// compare with one uninterrupted single-rank run (DESIGN.md, invariant 3).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/comm/process_groups.h"
#include "weft/model/model.h"
#include "weft/train/adamw.h"
#include "support/parallel_layouts.h"
#include "weft/train/trainer.h"

namespace weft::testing {

// One rank's model and optimizer, built and initialised (seed) as a training
// run builds them, for the layout of `groups`.
// zero = 1 under dp > 1: a distributed optimizer (ZeRO-1) for the trainer
// options the layout runs use.
struct RankModel {
  RankModel(const ModelConfig& config, const ProcessGroups& groups, uint64_t init_seed,
            int zero = 0);
  std::unique_ptr<Model> model;
  std::unique_ptr<AdamW> optimizer;
};

// Runs body(the rank's groups) on every rank of `layout`, as simulated ranks.
void on_ranks(const Layout& layout, const std::function<void(const ProcessGroups&)>& body);

// How a layout run starts and ends.
struct LayoutRun {
  ModelConfig config;
  Layout layout;
  int64_t steps = 0;        // optimizer steps to take
  std::string resume_from;  // a checkpoint directory to restore first; empty: fresh weights
  std::string save_to;      // a run directory to save into after the last step; empty: none
  int zero = 0;             // 1: ZeRO-1 under dp > 1
};

// The losses of the run's steps, the same on every rank (checked). A resumed
// run restores model and optimizer on every rank, builds its trainer after
// them (so its step is the checkpoint's) and continues the data there.
std::vector<double> train_layout(const LayoutRun& run);

}  // namespace weft::testing
