#pragma once
// The training loop around a Trainer: steps until options.steps, with
// evaluation, samples and checkpoints at their cadences, a stop that every
// rank agrees on, and a non-finite loss that ends the run while keeping the
// last good checkpoint. What a checkpoint, a sample or a progress line is
// belongs to the layers above; the run calls them through TrainingHooks.
//
// Every rank runs its own TrainingRun over the same groups as its Trainer,
// and every rank takes the same decisions: the step statistics are reduced
// by the trainer, and a stop asked on any rank is agreed by an all-reduce of
// the flag over groups.world after each step. save and make_eval_stream are
// called on every rank (a checkpoint and an evaluation are collective);
// show_samples and report_quality only on the decoding ranks, those of
// data-parallel replica 0, whose tensor-parallel group decodes together.
// The reports (on_step, on_eval, on_message) reach the hooks of every rank,
// identical on each; a caller shows those of one rank (the CLI: world rank 0).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "weft/data/batch.h"
#include "weft/train/trainer.h"

namespace weft {

// Cadences in steps; for the *_every options and exit_interval, <= 0 means never.
struct TrainingRunOptions {
  int64_t steps = 0;             // train until the trainer's step reaches it
  int64_t log_every = 1;         // on_step after every log_every-th step and the last
  int64_t eval_every = 0;        // evaluate after every eval_every-th step, and at the end
  int64_t eval_batches = 1;      // batches of one evaluation
  int64_t sample_every = 0;      // show_samples after every sample_every-th step
  int64_t checkpoint_every = 0;  // save after every checkpoint_every-th step before the last
  // Stop (checkpointed) after a step divisible by it, before the last: runs
  // under a job time limit continue in the next job with resume.
  int64_t exit_interval = 0;
};

// A reported training step: the trainer's statistics and the run's clock.
struct StepReport {
  StepStats stats;
  int64_t total_steps = 0;  // TrainingRunOptions::steps
  double elapsed_s = 0.0;   // since run() began
  double eta_s = 0.0;       // the remaining steps at the mean pace of this run's steps so far
  EpochPosition data;       // where the training stream stands after the step
};

// What the run calls; an empty function is skipped, except save (always
// needed) and make_eval_stream (needed when eval_every > 0).
struct TrainingHooks {
  // Writes the checkpoint of `step` (the trainer's current state). Collective:
  // every rank calls it with the same step.
  std::function<void(int64_t step)> save;
  // A fresh stream of held-out batches; each evaluation reads eval_batches of them.
  std::function<std::unique_ptr<BatchStream>()> make_eval_stream;
  // On the decoding ranks only: samples during training, figures at the end.
  std::function<void(int64_t step)> show_samples;
  std::function<void()> report_quality;
  // This rank's own request to stop (a signal); the run agrees on it across ranks.
  std::function<bool()> stop_requested;
  // Reports.
  std::function<void(const StepReport& report)> on_step;
  std::function<void(int64_t step, double val_loss)> on_eval;
  std::function<void(const std::string& text)> on_message;
};

enum class TrainingOutcome {
  Finished,  // reached options.steps; saved, evaluated and reported quality
  Stopped,   // stop request or exit_interval: the current step was checkpointed
  Failed,    // a step threw (a non-finite loss or gradient norm): nothing was saved
};

struct TrainingResult {
  TrainingOutcome outcome = TrainingOutcome::Finished;
  int64_t step = 0;  // the trainer's step at the end: the last good one
  // The newest checkpoint written by the run or resumed from (the trainer's
  // step when run() began, when > 0); 0: none.
  int64_t last_checkpoint = 0;
  std::string error;  // Failed: the message of the step's error
};

class TrainingRun {
 public:
  // `trainer` and `train_data` must outlive the run. Throws weft::Error
  // naming a missing hook or an option out of range.
  TrainingRun(Trainer& trainer, BatchStream& train_data, TrainingRunOptions options,
              TrainingHooks hooks);

  // Trains from the trainer's current step. Messages, in this order where
  // they apply: "stop requested: checkpointing step N" (or
  // "train.exit_interval reached: ..."), before that step's save; on a
  // failed step "stopped: <error>" then "the last good checkpoint is step N"
  // or "no checkpoint was written".
  TrainingResult run();

 private:
  void save(int64_t step);  // waits for the parameters, then hooks_.save
  void evaluate(int64_t step);
  void announce_epoch(int64_t& announced);
  bool any_rank_stops();

  Trainer& trainer_;
  BatchStream& train_data_;
  TrainingRunOptions options_;
  TrainingHooks hooks_;
};

}  // namespace weft
