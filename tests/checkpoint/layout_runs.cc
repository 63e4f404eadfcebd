#include "layout_runs.h"

#include <gtest/gtest.h>

#include <mutex>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"
#include "weft/comm/simulated.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/train/schedule.h"

namespace weft::testing {

namespace {

constexpr int64_t kRows = 8;  // global rows of a micro-batch: divides by dp = 1, 2, 4
constexpr int64_t kSeqLen = 8;
constexpr uint64_t kDropoutSeed = 7;

Tensor rows_of(const Tensor& t, int64_t begin, int64_t end) {
  return t.defined() ? t.rows(begin, end).clone() : Tensor();
}

// This data-parallel rank's rows of global micro-batch k, k = position,
// position + 1, ...: a pure function of k, so every layout sees the same data.
class RankBatches final : public BatchStream {
 public:
  nlohmann::json state() const override { return {{"position", next_}}; }
  void restore(const nlohmann::json& state) override { next_ = state.at("position"); }
  RankBatches(const ModelConfig& config, const ProcessGroups& groups, int64_t position)
      : config_(config), dp_rank_(groups.dp_rank()), dp_(groups.dp_size()), next_(position) {}

  Batch next() override {
    const uint64_t seed = 1000 + 10 * static_cast<uint64_t>(next_++);
    const int32_t vocab = static_cast<int32_t>(config_.vocab_size);
    Batch global;
    global.input = random_ids({kRows, kSeqLen}, vocab, seed);
    global.target = random_ids({kRows, kSeqLen}, vocab, seed + 1);
    global.target.data<int32_t>()[3] = kIgnoreIndex;
    if (config_.architecture == Architecture::EncoderDecoder) {
      global.source = random_ids({kRows, kSeqLen + 1}, vocab - 1, seed + 2);
      int32_t* source = global.source.data<int32_t>();
      for (int64_t i = 0; i < global.source.numel(); ++i) source[i] += 1;  // 0 is padding
      source[kSeqLen] = 0;
    }
    const int64_t rows = kRows / dp_, begin = dp_rank_ * rows;
    Batch mine;
    mine.source = rows_of(global.source, begin, begin + rows);
    mine.input = rows_of(global.input, begin, begin + rows);
    mine.target = rows_of(global.target, begin, begin + rows);
    return mine;
  }

 private:
  ModelConfig config_;
  int64_t dp_rank_, dp_;
  int64_t next_;
};

TrainerOptions trainer_options() {
  TrainerOptions o;
  o.grad_clip = 1.0;
  o.seed = kDropoutSeed;
  o.buckets.bucket_bytes = 4096;  // several buckets under data parallelism
  return o;
}

std::vector<double> train_rank(const LayoutRun& run, const ProcessGroups& groups) {
  // A resumed run starts from other weights, so only the restore can make it right.
  RankModel rank(run.config, groups, run.resume_from.empty() ? 42 : 99, run.zero);
  if (!run.resume_from.empty()) {
    const Checkpoint c = load_checkpoint(run.resume_from);
    restore_model(*rank.model, c);
    restore_optimizer(*rank.optimizer, c);
  }
  const WarmupCosineSchedule schedule(3e-3, 3e-4, 2, 8);
  Trainer trainer(*rank.model, *rank.optimizer, schedule, trainer_options(), groups);
  RankBatches data(run.config, groups, trainer.step());
  std::vector<double> losses;
  for (int64_t s = 0; s < run.steps; ++s) losses.push_back(trainer.train_step(data).loss);
  trainer.wait_for_parameters();
  if (!run.save_to.empty()) {
    CheckpointState state;
    state.step = trainer.step();
    state.seed = kDropoutSeed;
    save_checkpoint(run.save_to, *rank.model, *rank.optimizer, state, 0, groups);
  }
  return losses;
}

}  // namespace

RankModel::RankModel(const ModelConfig& config, const ProcessGroups& groups, uint64_t init_seed,
                     int zero) {
  LayerContext ctx;
  ctx.tp = groups.tp;
  model = make_model(config, ctx);
  initialize_parameters(model->parameters(), init_seed);
  const bool distributed = zero == 1 && groups.dp_size() > 1;
  optimizer = std::make_unique<AdamW>(
      model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1},
      distributed ? zero_owned_ranges(model->parameters(), groups.dp_rank(), groups.dp_size(),
                                      trainer_options().buckets)
                  : std::vector<ElementRange>{});
}

void on_ranks(const Layout& layout, const std::function<void(const ProcessGroups&)>& body) {
  run_simulated_ranks(layout.dp * layout.tp, [&](std::shared_ptr<Communicator> world) {
    body(make_process_groups(world, layout.tp));
  });
}

std::vector<double> train_layout(const LayoutRun& run) {
  const int world = run.layout.dp * run.layout.tp;
  std::mutex mutex;
  std::vector<std::vector<double>> losses(static_cast<size_t>(world));
  on_ranks(run.layout, [&](const ProcessGroups& groups) {
    std::vector<double> mine = train_rank(run, groups);
    std::lock_guard<std::mutex> lock(mutex);
    losses[groups.world->rank()] = std::move(mine);
  });
  for (int r = 1; r < world; ++r) {
    EXPECT_EQ(losses[r], losses[0]) << "rank " << r << " of " << layout_name(run.layout);
  }
  return losses[0];
}

}  // namespace weft::testing
