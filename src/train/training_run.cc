#include "weft/train/training_run.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "weft/tensor/error.h"

namespace weft {

namespace {

void say(const TrainingHooks& hooks, const std::string& text) {
  if (hooks.on_message) hooks.on_message(text);
}

bool every(int64_t step, int64_t interval) {
  return interval > 0 && step % interval == 0;
}

}  // namespace

TrainingRun::TrainingRun(Trainer& trainer, BatchStream& train_data, TrainingRunOptions options,
                         TrainingHooks hooks)
    : trainer_(trainer), train_data_(train_data), options_(options), hooks_(std::move(hooks)) {
  WEFT_CHECK(options_.steps >= 0, "training run: steps must be >= 0, got ", options_.steps);
  WEFT_CHECK(options_.log_every >= 1, "training run: log_every must be >= 1, got ",
             options_.log_every);
  WEFT_CHECK(options_.exit_interval >= 0, "training run: exit_interval must be >= 0, got ",
             options_.exit_interval);
  WEFT_CHECK(hooks_.save, "training run: the save hook is missing");
  if (options_.eval_every > 0) {
    WEFT_CHECK(options_.eval_batches >= 1, "training run: eval_batches must be >= 1, got ",
               options_.eval_batches);
    WEFT_CHECK(hooks_.make_eval_stream, "training run: eval_every is ", options_.eval_every,
               " but the make_eval_stream hook is missing");
  }
}

// Evaluation is collective: every rank reads its rows of the held-out batches.
void TrainingRun::evaluate(int64_t step) {
  std::unique_ptr<BatchStream> val = hooks_.make_eval_stream();
  const double loss = trainer_.evaluate(*val, options_.eval_batches);
  if (hooks_.on_eval) hooks_.on_eval(step, loss);
}

// A stream over a dataset says when the next batch opens an epoch, with its
// batches and padding share.
void TrainingRun::announce_epoch(int64_t& announced) {
  const EpochPosition at = train_data_.epoch_position();
  if (at.batches == 0 || at.epoch == announced) return;
  announced = at.epoch;
  std::string line = "epoch " + std::to_string(at.epoch) + ": " + std::to_string(at.batches) +
                     " batches";
  if (at.padding_share >= 0) {
    char share[48];
    std::snprintf(share, sizeof share, ", %.1f%% of their positions padding",
                  100.0 * at.padding_share);
    line += share;
  }
  say(hooks_, line);
}

// A checkpoint reads the parameters' values outside any forward pass.
void TrainingRun::save(int64_t step) {
  trainer_.wait_for_parameters();
  hooks_.save(step);
}

// SIGTERM reaches the ranks at different moments, and they must checkpoint
// the same step: the flag is all-reduced after every step, on every rank.
bool TrainingRun::any_rank_stops() {
  const bool mine = hooks_.stop_requested && hooks_.stop_requested();
  const ProcessGroups& groups = trainer_.groups();
  if (groups.world->size() == 1) return mine;
  Tensor flag = Tensor::from_vector(std::vector<int32_t>{mine ? 1 : 0}, {1});
  groups.world->all_reduce(flag, ReduceOp::Max);
  return flag.data<int32_t>()[0] != 0;
}

TrainingResult TrainingRun::run() {
  const bool decodes = trainer_.groups().dp_rank() == 0;
  const int64_t steps = options_.steps;
  const auto start = std::chrono::steady_clock::now();
  const int64_t first = trainer_.step();
  TrainingResult result;
  result.last_checkpoint = first;
  int64_t announced_epoch = -1;
  while (trainer_.step() < steps) {
    announce_epoch(announced_epoch);
    StepStats s;
    try {
      s = trainer_.train_step(train_data_);
    } catch (const Error& e) {
      say(hooks_, std::string("stopped: ") + e.message());
      say(hooks_, result.last_checkpoint > 0
                      ? "the last good checkpoint is step " + std::to_string(result.last_checkpoint)
                      : "no checkpoint was written");
      result.outcome = TrainingOutcome::Failed;
      result.step = trainer_.step();
      result.error = e.message();
      return result;
    }
    if (hooks_.on_step && (s.step % options_.log_every == 0 || s.step == steps)) {
      StepReport report;
      report.stats = s;
      report.total_steps = steps;
      report.data = train_data_.epoch_position();
      report.elapsed_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      report.eta_s = report.elapsed_s / static_cast<double>(s.step - first) *
                     static_cast<double>(steps - s.step);
      hooks_.on_step(report);
    }
    if (every(s.step, options_.eval_every)) evaluate(s.step);
    if (decodes && hooks_.show_samples && every(s.step, options_.sample_every)) {
      hooks_.show_samples(s.step);
    }
    const bool interval_exit = every(s.step, options_.exit_interval) && s.step < steps;
    if (any_rank_stops() || interval_exit) {
      say(hooks_, (interval_exit ? "train.exit_interval reached" : "stop requested") +
                      std::string(": checkpointing step ") + std::to_string(s.step));
      save(s.step);
      result.outcome = TrainingOutcome::Stopped;
      result.step = result.last_checkpoint = s.step;
      return result;
    }
    if (every(s.step, options_.checkpoint_every) && s.step < steps) {
      save(s.step);
      result.last_checkpoint = s.step;
    }
  }
  result.step = trainer_.step();
  if (result.step > first) {
    save(result.step);
    result.last_checkpoint = result.step;
  }
  if (options_.eval_every > 0 && result.step % options_.eval_every != 0) evaluate(result.step);
  if (decodes && hooks_.report_quality) hooks_.report_quality();
  return result;
}

}  // namespace weft
