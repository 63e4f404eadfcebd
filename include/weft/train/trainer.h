#pragma once
// The training loop's one step: gather the micro-batches of a global batch,
// accumulate the gradient of the mean loss over their counted target tokens,
// clip by the global gradient norm, and step the optimizer. Also evaluation.

#include <cstdint>

#include "weft/model/model.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"

namespace weft {

// Yields micro-batches in order; a step takes grad_accum of them.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual Batch next() = 0;
};

struct TrainerOptions {
  int64_t grad_accum = 1;  // micro-batches per optimizer step
  double grad_clip = 1.0;  // max global gradient norm; <= 0: no clipping
  uint64_t seed = 1337;    // dropout stream (StepContext::seed)
  // Throws weft::Error naming the first field out of range.
  void validate() const;
};

struct StepStats {
  int64_t step = 0;   // 1-based number of the step just taken
  double loss = 0.0;  // mean loss over the step's counted target tokens
  double lr = 0.0;
  double grad_norm = 0.0;  // before clipping
  int64_t tokens = 0;      // counted (non-ignored) target tokens in the global batch
  double seconds = 0.0;    // wall time of the whole step, steady clock
  double tokens_per_second = 0.0;
  double model_flops = 0.0;  // of the whole step, from the batches' shapes (ModelConfig::training_flops)
};

class Trainer {
 public:
  // The trainer's step starts at the optimizer's step count, so a resumed
  // optimizer resumes the schedule too. All three references must outlive it.
  Trainer(Model& model, AdamW& optimizer, const Schedule& schedule, TrainerOptions options = {});

  // One optimizer step over options.grad_accum micro-batches. A non-finite
  // loss or gradient norm throws weft::Error naming the step, before the
  // optimizer is stepped: parameters and the step count stay as they were.
  StepStats train_step(BatchSource& data);

  // Mean loss over the counted target tokens of the next `batches` batches,
  // with training = false (no dropout, no label smoothing).
  double evaluate(BatchSource& data, int64_t batches);

  int64_t step() const { return step_; }
  // For resume; also sets the optimizer's step count (bias correction).
  void set_step(int64_t step);

  const TrainerOptions& options() const { return options_; }

 private:
  Model& model_;
  AdamW& optimizer_;
  const Schedule& schedule_;
  TrainerOptions options_;
  int64_t step_ = 0;
};

}  // namespace weft
