#include "weft/train/trainer.h"

#include <chrono>
#include <cmath>
#include <vector>

#include "weft/backend/gpu.h"
#include "weft/tensor/error.h"
#include "weft/train/clip.h"

namespace weft {

namespace {

// The step's loss is a mean over all counted targets, so they are counted
// (by the loader, on the host) before any backward.
int64_t counted_targets(const Batch& batch, int64_t step, int64_t micro) {
  WEFT_CHECK(batch.target.defined() && batch.target.dtype() == DType::I32 &&
                 batch.target.rank() >= 1,
             "step ", step, ": micro-batch ", micro, " needs an i32 target tensor (B,T), got ",
             batch.target.defined() ? batch.target.describe() : std::string("none"));
  return batch.counted_targets();
}

// Sums of counted tokens and losses over the data-parallel group: every rank
// computes the same totals. Doubles hold token counts exactly up to 2^53.
void sum_over(Communicator& group, std::initializer_list<double*> values) {
  if (group.size() == 1) return;
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::F64);
  double* d = t.data<double>();
  int i = 0;
  for (double* v : values) d[i++] = *v;
  group.all_reduce(t, ReduceOp::Sum);
  i = 0;
  for (double* v : values) *v = d[i++];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void TrainerOptions::validate() const {
  WEFT_CHECK(grad_accum >= 1, "trainer: grad_accum must be >= 1, got ", grad_accum);
  WEFT_CHECK(!std::isnan(grad_clip), "trainer: grad_clip must be a number (<= 0: no clipping)");
}

Trainer::Trainer(Model& model, AdamW& optimizer, const Schedule& schedule, TrainerOptions options,
                 ProcessGroups groups)
    : model_(model),
      optimizer_(optimizer),
      schedule_(schedule),
      options_(options),
      groups_(std::move(groups)),
      step_(optimizer.step_count()) {
  options_.validate();
  for (Parameter* p : optimizer_.parameters()) {
    if (p->sequence_parallel_partial) sequence_parallel_partial_.push_back(p);
  }
  // A distributed optimizer (ZeRO-1) updates the slices the buckets reduce-scatter.
  options_.buckets.shard = optimizer_.distributed() && groups_.dp_size() > 1;
  if (groups_.dp_size() > 1) {
    buckets_ = std::make_unique<GradientBuckets>(optimizer_.parameters(), groups_.dp,
                                                 options_.buckets);
  }
  if (optimizer_.distributed()) {
    const std::vector<ElementRange> expected =
        buckets_ ? buckets_->owned()
                 : zero_owned_ranges(optimizer_.parameters(), 0, 1, options_.buckets);
    WEFT_CHECK(expected == optimizer_.owned(), "trainer: the distributed optimizer owns other "
               "ranges than the gradient buckets give this rank; build it with "
               "zero_owned_ranges(parameters, dp_rank, dp, the trainer's bucket options)");
  }
}

void Trainer::sum_sequence_parallel_grads() {
  const std::vector<Parameter*>& partial = sequence_parallel_partial_;
  if (groups_.tp_size() == 1 || partial.empty()) return;
  int64_t n = 0;
  for (const Parameter* p : partial) n += p->grad.numel();
  // One all-reduce for all of them (layer norms: small and many).
  const Tensor& first = partial.front()->grad;
  Tensor::ensure(sequence_parallel_grads_, {n}, first.dtype(), first.device());
  int64_t offset = 0;
  for (Parameter* p : partial) {
    const int64_t k = p->grad.numel();
    sequence_parallel_grads_.rows(offset, offset + k).copy_from(p->grad.view({k}));
    offset += k;
  }
  groups_.tp->all_reduce(sequence_parallel_grads_, ReduceOp::Sum);
  offset = 0;
  for (Parameter* p : partial) {
    const int64_t k = p->grad.numel();
    p->grad.view({k}).copy_from(sequence_parallel_grads_.rows(offset, offset + k));
    offset += k;
  }
}

void Trainer::set_step(int64_t step) {
  WEFT_CHECK(step >= 0, "trainer: step must be >= 0, got ", step);
  step_ = step;
  optimizer_.set_step_count(step);
}

StepStats Trainer::train_step(BatchStream& data) {
  const auto start = std::chrono::steady_clock::now();
  const double waited_before = groups_.wait->seconds;
  const int64_t step = step_ + 1;

  std::vector<Batch> micro(static_cast<size_t>(options_.grad_accum));
  int64_t local_tokens = 0, loader_global_tokens = 0;
  for (int64_t i = 0; i < options_.grad_accum; ++i) {
    micro[i] = data.next();
    local_tokens += counted_targets(micro[i], step, i);
    if (loader_global_tokens >= 0 && micro[i].global_counted >= 0) {
      loader_global_tokens += micro[i].global_counted;
    } else {
      loader_global_tokens = -1;
    }
  }
  // The loaders know the global count; otherwise it is summed over the group.
  double global_tokens = static_cast<double>(local_tokens);
  if (loader_global_tokens >= 0) {
    global_tokens = static_cast<double>(loader_global_tokens);
  } else {
    sum_over(*groups_.dp, {&global_tokens});
  }
  const int64_t tokens = static_cast<int64_t>(global_tokens);
  WEFT_CHECK(tokens > 0, "step ", step, ": the global batch (", options_.grad_accum,
             " micro-batches) has no counted target tokens; every target is ignored");

  // grad_scale = 1/tokens makes the accumulated gradient that of the mean loss
  // over the whole global batch, however the tokens fall into micro-batches.
  // The global micro-batch i is the DP ranks' rows side by side, so this
  // rank's first row has global index Σ(earlier micro-batches) + dp_rank·rows:
  // dropout masks are keyed by it and match any other layout.
  model_.zero_grad();
  LossSum total;
  int64_t global_offset = 0;
  const int64_t dp = groups_.dp_size();
  for (int64_t i = 0; i < options_.grad_accum; ++i) {
    const int64_t rows = micro[i].target.dim(0);
    StepContext ctx;
    ctx.training = true;
    ctx.seed = options_.seed;
    ctx.step = static_cast<uint64_t>(step);
    const Batch& b = micro[i];
    ctx.batch_offset = global_offset + (b.global_row >= 0 ? b.global_row : groups_.dp_rank() * rows);
    ctx.recompute = options_.recompute;
    if (buckets_) buckets_->begin_micro_batch(i + 1 == options_.grad_accum);
    const LossSum part = model_.forward_backward(micro[i], ctx, 1.0 / static_cast<double>(tokens));
    total.sum += part.sum;
    total.tokens += part.tokens;
    global_offset += b.global_rows >= 0 ? b.global_rows : rows * dp;
  }
  int64_t overlapped_gathers = 0;
  if (buckets_) {
    overlapped_gathers = buckets_->gathers_awaited_by_forward();
    buckets_->finish();
  }
  sum_sequence_parallel_grads();
  WEFT_CHECK(total.tokens == local_tokens, "step ", step, ": the model counted ", total.tokens,
             " target tokens, the trainer ", local_tokens);
  double summed_tokens = static_cast<double>(local_tokens);
  sum_over(*groups_.dp, {&total.sum, &summed_tokens});
  WEFT_CHECK(static_cast<int64_t>(summed_tokens) == tokens, "step ", step, ": the loader "
             "counted ", tokens, " target tokens in the global batch, the ranks hold ",
             static_cast<int64_t>(summed_tokens));
  total.tokens = tokens;

  const double loss = total.mean();
  WEFT_CHECK(std::isfinite(loss), "step ", step, ": loss is ", loss,
             "; the optimizer was not stepped");
  const double grad_norm = optimizer_.grad_norm(groups_.tp.get(), groups_.dp.get());
  WEFT_CHECK(std::isfinite(grad_norm), "step ", step, ": gradient norm is ", grad_norm, " (loss ",
             loss, "); the optimizer was not stepped");

  const double lr = schedule_.lr(step);
  optimizer_.step(lr, clip_coefficient(grad_norm, options_.grad_clip));
  if (buckets_) {
    if (options_.buckets.overlap) {
      buckets_->start_gathering_parameters();
    } else {
      buckets_->gather_parameters();
    }
  }
  step_ = step;

  // GPU work is queued, not done: the step ends when the device is idle.
  if (gpu::initialized()) gpu::synchronize();
  StepStats stats;
  stats.step = step;
  stats.loss = loss;
  stats.lr = lr;
  stats.grad_norm = grad_norm;
  stats.tokens = tokens;
  stats.seconds = seconds_since(start);
  stats.tokens_per_second = stats.seconds > 0.0 ? static_cast<double>(tokens) / stats.seconds : 0.0;
  for (const Batch& b : micro) {
    stats.model_flops += static_cast<double>(dp) * model_.config().training_flops(
        b.input.dim(0), b.source.defined() ? b.source.dim(1) : 0, b.input.dim(1));
  }
  stats.overlapped_buckets = buckets_ ? buckets_->overlapped_last_step() : 0;
  stats.overlapped_gathers = overlapped_gathers;
  stats.comm_wait_seconds = groups_.wait->seconds - waited_before;
  return stats;
}

void Trainer::wait_for_parameters() {
  if (buckets_) buckets_->wait_for_parameters();
}

double Trainer::evaluate(BatchStream& data, int64_t batches) {
  WEFT_CHECK(batches >= 1, "evaluate: batches must be >= 1, got ", batches);
  LossSum total;
  int64_t batch_offset = 0;
  for (int64_t i = 0; i < batches; ++i) {
    const Batch batch = data.next();
    StepContext ctx;
    ctx.training = false;
    ctx.seed = options_.seed;
    ctx.step = static_cast<uint64_t>(step_);
    ctx.batch_offset = batch_offset;
    const LossSum part = model_.forward(batch, ctx);
    total.sum += part.sum;
    total.tokens += part.tokens;
    batch_offset += batch.target.dim(0);
  }
  double tokens = static_cast<double>(total.tokens);
  sum_over(*groups_.dp, {&total.sum, &tokens});
  total.tokens = static_cast<int64_t>(tokens);
  WEFT_CHECK(total.tokens > 0, "evaluate: ", batches,
             " batches hold no counted target tokens; every target is ignored");
  return total.mean();
}

}  // namespace weft
