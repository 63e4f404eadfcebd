#pragma once
// The training loop's one step: gather the micro-batches of a global batch,
// accumulate the gradient of the mean loss over their counted target tokens,
// clip by the global gradient norm, and step the optimizer. Also evaluation.
//
// Under data parallelism each rank's BatchStream yields its own rows of every
// global micro-batch (rank d of dp: rows [d·b, (d+1)·b) of a micro-batch of
// dp·b rows); the counted tokens and losses are summed over the DP group and
// the gradients are reduced in buckets, overlapped with backward. Under
// tensor parallelism the model's layers hold shards and communicate
// themselves; the trainer only adds the sharded part of the gradient norm
// across the TP group. Every rank ends a step with the same statistics.

#include <cstdint>
#include <memory>

#include "weft/comm/process_groups.h"
#include "weft/data/batch.h"
#include "weft/model/model.h"
#include "weft/train/adamw.h"
#include "weft/train/grad_buckets.h"
#include "weft/train/schedule.h"

namespace weft {

struct TrainerOptions {
  int64_t grad_accum = 1;  // micro-batches per optimizer step
  double grad_clip = 1.0;  // max global gradient norm; <= 0: no clipping
  uint64_t seed = 1337;    // dropout stream (StepContext::seed)
  BucketOptions buckets;   // data-parallel gradient reduction
  Recompute recompute = Recompute::None;  // activation recompute (train.recompute)
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
  double model_flops = 0.0;  // of the whole global batch, from the batches' shapes (ModelConfig::training_flops)
  int64_t overlapped_buckets = 0;  // DP buckets whose reduction started during backward
  // ZeRO-1: buckets whose parameter gather was still in flight when this
  // step's forward reached them (started by the step before).
  int64_t overlapped_gathers = 0;
  double comm_wait_seconds = 0.0;  // of `seconds`, spent waiting in TP and DP collectives
};

class Trainer {
 public:
  // The trainer's step starts at the optimizer's step count, so a resumed
  // optimizer resumes the schedule too. All three references must outlive it.
  Trainer(Model& model, AdamW& optimizer, const Schedule& schedule, TrainerOptions options = {},
          ProcessGroups groups = single_rank_groups());

  // One optimizer step over options.grad_accum micro-batches. A non-finite
  // loss or gradient norm throws weft::Error naming the step, before the
  // optimizer is stepped: parameters and the step count stay as they were.
  // Under ZeRO-1 with overlap the step returns with the parameters' gathers
  // in flight; the next forward waits for each bucket as it reaches it.
  StepStats train_step(BatchStream& data);
  // Makes every parameter whole on this rank: call before reading values
  // outside a forward pass (a checkpoint, a comparison). Cheap otherwise.
  void wait_for_parameters();

  // Mean loss over the counted target tokens of the next `batches` batches,
  // with training = false (no dropout, no label smoothing).
  double evaluate(BatchStream& data, int64_t batches);

  int64_t step() const { return step_; }
  // For resume; also sets the optimizer's step count (bias correction).
  void set_step(int64_t step);

  const TrainerOptions& options() const { return options_; }
  const ProcessGroups& groups() const { return groups_; }
  // Null without data parallelism.
  const GradientBuckets* buckets() const { return buckets_.get(); }

 private:
  Model& model_;
  AdamW& optimizer_;
  const Schedule& schedule_;
  TrainerOptions options_;
  ProcessGroups groups_;
  std::unique_ptr<GradientBuckets> buckets_;
  int64_t step_ = 0;
  // Sequence parallelism: the gradients each TP rank computed from its rows
  // alone (Parameter::sequence_parallel_partial), summed over the group once
  // per step, after the data-parallel reduction (the two sums commute).
  void sum_sequence_parallel_grads();
  std::vector<Parameter*> sequence_parallel_partial_;  // found once, at construction
  Tensor sequence_parallel_grads_;
};

}  // namespace weft
