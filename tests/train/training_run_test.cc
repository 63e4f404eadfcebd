// The training loop (weft/train/training_run.h): exact resume through a real
// checkpoint, a stop request checkpoints its step and trains no further, a
// non-finite loss keeps the last good step and names the last checkpoint,
// every hook fires at its configured steps, and a stop asked by one
// simulated rank stops every rank at the same step.

#include "weft/train/training_run.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parameter_values.h"
#include "softmax_regression.h"
#include "support/error_testing.h"
#include "support/parallel_layouts.h"
#include "support/temp_dir.h"
#include "support/tensor_testing.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/comm/simulated.h"
#include "weft/model/factory.h"

namespace weft {
namespace {

using nlohmann::json;
using testing::error_of;

// This data-parallel rank's rows of global batch `position`, a pure function
// of the position: the position is the whole state, so a restored stream
// continues with exactly the next batch.
class PositionStream final : public BatchStream {
 public:
  PositionStream(int32_t vocab, uint64_t seed, int64_t dp_rank = 0, int64_t dp = 1)
      : vocab_(vocab), seed_(seed), dp_rank_(dp_rank), dp_(dp) {}

  Batch next() override {
    const uint64_t key = seed_ * 7919 + static_cast<uint64_t>(position_++) * 3;
    const int64_t rows = kRows / dp_, begin = dp_rank_ * rows;
    Batch b;
    b.input = testing::random_ids({kRows, 8}, vocab_, key).rows(begin, begin + rows).clone();
    b.target = testing::random_ids({kRows, 8}, vocab_, key + 1).rows(begin, begin + rows).clone();
    return b;
  }
  json state() const override { return {{"position", position_}}; }
  void restore(const json& state) override { position_ = state.at("position").get<int64_t>(); }
  int64_t position() const { return position_; }

 private:
  static constexpr int64_t kRows = 4;  // global rows of one micro-batch
  int32_t vocab_;
  uint64_t seed_;
  int64_t dp_rank_, dp_;
  int64_t position_ = 0;
};

constexpr uint64_t kTrainSeed = 5, kEvalSeed = 99;
constexpr int32_t kVocab = 33;  // testing::tiny_config("gpt").vocab_size
const WarmupCosineSchedule kSchedule(1e-2, 1e-3, 2, 12);

// A tiny GPT (dropout on) with AdamW, gradient accumulation and clipping, on
// this rank's layout; resumed from `checkpoint` when given.
struct TinyTraining {
  explicit TinyTraining(const ProcessGroups& groups = single_rank_groups(),
                        const Checkpoint* checkpoint = nullptr, uint64_t init_seed = 11)
      : data(kVocab, kTrainSeed, groups.dp_rank(), groups.dp_size()) {
    const ModelConfig config = testing::tiny_config("gpt");
    EXPECT_EQ(config.vocab_size, kVocab);
    LayerContext ctx;
    ctx.tp = groups.tp;
    model = make_model(config, ctx);
    initialize_parameters(model->parameters(), init_seed);
    optimizer = std::make_unique<AdamW>(model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1});
    if (checkpoint) {
      restore_model(*model, *checkpoint);
      restore_optimizer(*optimizer, *checkpoint);
      data.restore(checkpoint->data_state);
    }
    TrainerOptions options;
    options.grad_accum = 2;
    options.grad_clip = 0.5;
    options.seed = 4242;
    trainer = std::make_unique<Trainer>(*model, *optimizer, kSchedule, options, groups);
  }

  // Writes a real checkpoint of this state under run_dir (collective).
  void save(const std::string& run_dir, int64_t step) {
    CheckpointState state;
    state.step = step;
    state.seed = trainer->options().seed;
    state.data_state = data.state();
    save_checkpoint(run_dir, *model, *optimizer, state, 0, trainer->groups());
  }

  std::unique_ptr<Model> model;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<Trainer> trainer;
  PositionStream data;
};

// Every hook call, in order: "step 3", "eval 4", "samples 5", "save 6",
// "quality", "say <message>". Losses and evaluation results by step.
struct Recorder {
  std::vector<std::string> events;
  std::map<int64_t, double> losses, val_losses;
  std::vector<StepReport> reports;

  TrainingHooks hooks(int32_t vocab, std::function<void(int64_t)> save = {}) {
    TrainingHooks h;
    h.save = [this, save](int64_t step) {
      events.push_back("save " + std::to_string(step));
      if (save) save(step);
    };
    h.make_eval_stream = [vocab] { return std::make_unique<PositionStream>(vocab, kEvalSeed); };
    h.show_samples = [this](int64_t step) { events.push_back("samples " + std::to_string(step)); };
    h.report_quality = [this] { events.push_back("quality"); };
    h.on_step = [this](const StepReport& r) {
      events.push_back("step " + std::to_string(r.stats.step));
      losses[r.stats.step] = r.stats.loss;
      reports.push_back(r);
    };
    h.on_eval = [this](int64_t step, double loss) {
      events.push_back("eval " + std::to_string(step));
      val_losses[step] = loss;
    };
    h.on_message = [this](const std::string& text) { events.push_back("say " + text); };
    return h;
  }
};

using Events = std::vector<std::string>;

TEST(TrainingRun, HooksFireAtTheirSteps) {
  TinyTraining t;
  Recorder r;
  const TrainingRunOptions options{.steps = 10,
                                   .log_every = 3,
                                   .eval_every = 4,
                                   .eval_batches = 2,
                                   .sample_every = 5,
                                   .checkpoint_every = 3};
  const TrainingResult result = TrainingRun(*t.trainer, t.data, options, r.hooks(kVocab)).run();

  EXPECT_EQ(r.events, (Events{"step 3", "save 3", "eval 4", "samples 5", "step 6", "save 6",
                              "eval 8", "step 9", "save 9", "step 10", "samples 10",
                              // the end: the last step saved, evaluated (10 % 4 != 0), reported
                              "save 10", "eval 10", "quality"}));
  EXPECT_EQ(result.outcome, TrainingOutcome::Finished);
  EXPECT_EQ(result.step, 10);
  EXPECT_EQ(result.last_checkpoint, 10);
  EXPECT_EQ(t.data.position(), 20);  // 10 steps of 2 micro-batches, nothing more
  ASSERT_EQ(r.reports.size(), 4u);
  EXPECT_EQ(r.reports.back().total_steps, 10);
  EXPECT_EQ(r.reports.back().eta_s, 0.0);
  EXPECT_GT(r.reports.back().elapsed_s, 0.0);
  // An evaluation reads eval_batches batches of a fresh held-out stream.
  PositionStream val(kVocab, kEvalSeed);
  EXPECT_EQ(r.val_losses.at(10), t.trainer->evaluate(val, 2));
}

TEST(TrainingRun, NothingLeftToTrainStillEvaluatesAndReports) {
  TinyTraining t;
  t.trainer->set_step(10);  // as resumed from the checkpoint of the last step
  Recorder r;
  const TrainingRunOptions options{.steps = 10, .eval_every = 4, .eval_batches = 1};
  const TrainingResult result = TrainingRun(*t.trainer, t.data, options, r.hooks(kVocab)).run();
  EXPECT_EQ(r.events, (Events{"eval 10", "quality"}));  // nothing new to save
  EXPECT_EQ(result.outcome, TrainingOutcome::Finished);
  EXPECT_EQ(result.last_checkpoint, 10);
  EXPECT_EQ(t.data.position(), 0);
}

TEST(TrainingRun, ResumeThroughACheckpointIsExact) {
  const TrainingRunOptions straight_options{.steps = 6};
  TinyTraining straight;
  Recorder straight_run;
  EXPECT_EQ(
      TrainingRun(*straight.trainer, straight.data, straight_options, straight_run.hooks(kVocab))
          .run()
          .outcome,
      TrainingOutcome::Finished);

  // The first job ends at train.exit_interval, checkpointed through the hook.
  testing::TempDir run;
  Recorder split_run;
  {
    TinyTraining first;
    const TrainingRunOptions options{.steps = 6, .exit_interval = 3};
    const TrainingResult result =
        TrainingRun(*first.trainer, first.data, options, split_run.hooks(kVocab, [&](int64_t step) {
          first.save(run.path(), step);
        })).run();
    EXPECT_EQ(result.outcome, TrainingOutcome::Stopped);
    EXPECT_EQ(result.last_checkpoint, 3);
  }
  // The next starts from other weights and the checkpoint alone.
  const Checkpoint checkpoint = latest_checkpoint(run.path());
  TinyTraining second(single_rank_groups(), &checkpoint, /*init_seed=*/999);
  EXPECT_EQ(second.trainer->step(), 3);
  const TrainingResult result =
      TrainingRun(*second.trainer, second.data, straight_options, split_run.hooks(kVocab)).run();
  EXPECT_EQ(result.outcome, TrainingOutcome::Finished);

  EXPECT_EQ(split_run.losses, straight_run.losses);
  EXPECT_NE(straight_run.losses.at(4), straight_run.losses.at(3));  // not a degenerate run
  EXPECT_EQ(testing::parameter_values(*second.model), testing::parameter_values(*straight.model));
}

TEST(TrainingRun, StopRequestCheckpointsThatStepAndTrainsNoFurther) {
  TinyTraining t;
  Recorder r;
  TrainingHooks hooks = r.hooks(kVocab);
  hooks.stop_requested = [&] { return t.trainer->step() == 6; };
  const TrainingRunOptions options{
      .steps = 10, .log_every = 100, .eval_every = 100, .checkpoint_every = 4};
  const TrainingResult result = TrainingRun(*t.trainer, t.data, options, hooks).run();

  EXPECT_EQ(r.events, (Events{"save 4", "say stop requested: checkpointing step 6", "save 6"}));
  EXPECT_EQ(result.outcome, TrainingOutcome::Stopped);
  EXPECT_EQ(result.step, 6);
  EXPECT_EQ(result.last_checkpoint, 6);
  EXPECT_EQ(t.trainer->step(), 6);
  EXPECT_EQ(t.data.position(), 12);
}

TEST(TrainingRun, ExitIntervalStopsBeforeTheLastStepOnly) {
  TinyTraining t;
  Recorder r;
  const TrainingRunOptions options{.steps = 8, .log_every = 100, .exit_interval = 4};
  const TrainingResult first = TrainingRun(*t.trainer, t.data, options, r.hooks(kVocab)).run();
  EXPECT_EQ(first.outcome, TrainingOutcome::Stopped);
  EXPECT_EQ(r.events, (Events{"say train.exit_interval reached: checkpointing step 4", "save 4"}));

  r.events.clear();  // the next job reaches step 8, the last: it finishes
  const TrainingResult second = TrainingRun(*t.trainer, t.data, options, r.hooks(kVocab)).run();
  EXPECT_EQ(second.outcome, TrainingOutcome::Finished);
  EXPECT_EQ(r.events, (Events{"step 8", "save 8", "quality"}));
}

// A softmax regression whose loss turns NaN after the step `poison_after`.
struct NanAfter {
  explicit NanAfter(int64_t resumed_step = 0) {
    if (resumed_step > 0) trainer.set_step(resumed_step);
  }
  testing::SoftmaxRegression model{5};
  AdamW adam{model.parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1}};
  ConstantSchedule schedule{0.05};
  Trainer trainer{model, adam, schedule};
  PositionStream data{5, kTrainSeed};

  TrainingResult run(Recorder& r, int64_t poison_after, int64_t checkpoint_every,
                     std::vector<float>* last_good) {
    TrainingHooks hooks = r.hooks(5);
    hooks.on_step = [&](const StepReport& report) {
      *last_good = testing::parameter_values(model);
      if (report.stats.step == poison_after) model.nan_loss = true;
    };
    const TrainingRunOptions options{.steps = 10, .checkpoint_every = checkpoint_every};
    return TrainingRun(trainer, data, options, hooks).run();
  }
};

TEST(TrainingRun, NonFiniteLossKeepsTheLastGoodStepAndNamesTheLastCheckpoint) {
  NanAfter t;
  Recorder r;
  std::vector<float> last_good;
  const TrainingResult result = t.run(r, 5, 2, &last_good);

  EXPECT_EQ(result.outcome, TrainingOutcome::Failed);
  EXPECT_EQ(result.step, 5);
  EXPECT_EQ(result.last_checkpoint, 4);
  EXPECT_NE(result.error.find("step 6"), std::string::npos) << result.error;
  EXPECT_EQ(r.events, (Events{"save 2", "save 4", "say stopped: " + result.error,
                              "say the last good checkpoint is step 4"}));
  EXPECT_EQ(testing::parameter_values(t.model), last_good);
  EXPECT_EQ(t.trainer.step(), 5);
  EXPECT_EQ(t.adam.step_count(), 5);
}

TEST(TrainingRun, NonFiniteLossWithoutACheckpointSaysSo) {
  NanAfter t;
  Recorder r;
  std::vector<float> last_good;
  const TrainingResult result = t.run(r, 2, 0, &last_good);
  EXPECT_EQ(result.outcome, TrainingOutcome::Failed);
  EXPECT_EQ(result.last_checkpoint, 0);
  EXPECT_EQ(r.events.back(), "say no checkpoint was written");
  EXPECT_EQ(testing::parameter_values(t.model), last_good);
}

TEST(TrainingRun, NonFiniteLossAfterResumeNamesTheResumedCheckpoint) {
  NanAfter t(/*resumed_step=*/4);
  Recorder r;
  std::vector<float> last_good;
  const TrainingResult result = t.run(r, 5, 0, &last_good);
  EXPECT_EQ(result.step, 5);
  EXPECT_EQ(r.events.back(), "say the last good checkpoint is step 4");
}

TEST(TrainingRun, RefusesMissingHooks) {
  TinyTraining t;
  TrainingHooks hooks;
  EXPECT_NE(
      error_of([&] { TrainingRun(*t.trainer, t.data, {.steps = 1}, hooks); }).find("save hook"),
      std::string::npos);
  hooks.save = [](int64_t) {};
  EXPECT_NE(error_of([&] {
              TrainingRun(*t.trainer, t.data, {.steps = 1, .eval_every = 2}, hooks);
            }).find("make_eval_stream"),
            std::string::npos);
}

// 2 replicas x 2 tensor-parallel ranks; only world rank 3 is asked to stop.
TEST(TrainingRun, AStopAskedOnOneRankStopsEveryRankAtTheSameStep) {
  testing::TempDir run;
  std::mutex mutex;
  std::vector<Recorder> recorders(4);
  std::vector<TrainingResult> results(4);
  run_simulated_ranks(
      4,
      [&](std::shared_ptr<Communicator> world) {
        const ProcessGroups groups = make_process_groups(world, 2);
        const int rank = world->rank();
        TinyTraining t(groups);
        Recorder r;
        TrainingHooks hooks = r.hooks(kVocab, [&](int64_t step) { t.save(run.path(), step); });
        hooks.stop_requested = [&] { return rank == 3 && t.trainer->step() == 2; };
        const TrainingRunOptions options{.steps = 5, .sample_every = 1};
        const TrainingResult result = TrainingRun(*t.trainer, t.data, options, hooks).run();
        std::lock_guard<std::mutex> lock(mutex);
        recorders[rank] = std::move(r);
        results[rank] = result;
      },
      CommOptions{.timeout_seconds = 20.0});  // ranks that disagree fail instead of hanging

  for (int rank = 0; rank < 4; ++rank) {
    SCOPED_TRACE("world rank " + std::to_string(rank));
    EXPECT_EQ(results[rank].outcome, TrainingOutcome::Stopped);
    EXPECT_EQ(results[rank].step, 2);
    // Replica 0 (world ranks 0 and 1) decodes the samples; replica 1 does not.
    Events expected = rank < 2 ? Events{"step 1", "samples 1", "step 2", "samples 2"}
                               : Events{"step 1", "step 2"};
    expected.insert(expected.end(), {"say stop requested: checkpointing step 2", "save 2"});
    EXPECT_EQ(recorders[rank].events, expected);
  }
  EXPECT_EQ(list_checkpoints(run.path()),
            std::vector<std::string>{run.path() + "/checkpoints/step-00000002"});
}

}  // namespace
}  // namespace weft
