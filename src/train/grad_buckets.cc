#include "weft/train/grad_buckets.h"

#include "weft/tensor/error.h"

namespace weft {

namespace {

std::vector<int64_t> numels_of(const std::vector<Parameter*>& params) {
  std::vector<int64_t> out;
  for (const Parameter* p : params) out.push_back(p->grad.numel());
  return out;
}

// The buckets of these parameters' gradients over `shards` ranks.
std::vector<PlannedBucket> plan_of(const std::vector<Parameter*>& params,
                                   const std::vector<int64_t>& numels, int64_t bucket_bytes,
                                   int64_t shards) {
  WEFT_CHECK(!params.empty(), "gradient buckets: the model has no parameters");
  const int64_t element = static_cast<int64_t>(dtype_size(params.front()->grad.dtype()));
  return plan_buckets(numels, element, bucket_bytes, shards);
}

// A flat buffer of `elements` (plus padding) holding each parameter's tensor
// at its offset; `field` becomes a view into it, values kept.
Tensor gather_into_buffer(const PlannedBucket& planned, const std::vector<Parameter*>& params,
                          Tensor Parameter::*field) {
  const Tensor& first = params[planned.params.front()]->*field;
  Tensor buffer = Tensor::zeros({planned.padded}, first.dtype(), first.device());
  for (size_t k = 0; k < planned.params.size(); ++k) {
    Parameter& p = *params[planned.params[k]];
    Tensor& t = p.*field;
    WEFT_CHECK(t.dtype() == first.dtype() && t.device() == first.device(), "gradient buckets: ",
               p.name, " is ", t.describe(), ", the others ", dtype_name(first.dtype()));
    Tensor view = buffer.rows(planned.offsets[k], planned.offsets[k] + t.numel()).view(t.shape());
    view.copy_from(t);
    t = view;
  }
  return buffer;
}

}  // namespace

std::vector<ElementRange> zero_owned_ranges(const std::vector<Parameter*>& params,
                                            int64_t dp_rank, int64_t dp,
                                            const BucketOptions& options) {
  const std::vector<int64_t> numels = numels_of(params);
  return owned_ranges(plan_of(params, numels, options.bucket_bytes, dp), numels, dp_rank, dp);
}

GradientBuckets::GradientBuckets(const std::vector<Parameter*>& params,
                                 std::shared_ptr<Communicator> dp, BucketOptions options)
    : dp_(std::move(dp)), options_(options), params_(params) {
  const std::vector<int64_t> numels = numels_of(params_);
  const int64_t shards = options_.shard ? dp_->size() : 1;
  const std::vector<PlannedBucket> plan = plan_of(params_, numels, options_.bucket_bytes, shards);
  if (options_.shard) owned_ = owned_ranges(plan, numels, dp_->rank(), shards);

  bucket_of_.assign(params_.size(), -1);
  writes_.assign(params_.size(), 0);
  buckets_.resize(plan.size());
  for (size_t b = 0; b < plan.size(); ++b) {
    Bucket& bucket = buckets_[b];
    bucket.buffer = gather_into_buffer(plan[b], params_, &Parameter::grad);
    if (options_.shard) bucket.values = gather_into_buffer(plan[b], params_, &Parameter::value);
    bucket.elements = plan[b].elements;
    bucket.slice = plan[b].slice(dp_->rank(), shards);
    for (int64_t i : plan[b].params) {
      Parameter& p = *params_[i];
      bucket.params.push_back(&p);
      bucket_of_[i] = static_cast<int64_t>(b);
      p.on_grad_written = [this, i](Parameter&) { written(i); };
      if (options_.shard) p.on_value_needed = [this, i](Parameter&) { needed(i); };
    }
  }
}

GradientBuckets::~GradientBuckets() {
  for (Parameter* p : params_) {
    p->on_grad_written = nullptr;
    p->on_value_needed = nullptr;
  }
  for (Bucket& b : buckets_) {
    for (Pending* pending : {&b.pending, &b.gathering}) {
      if (!*pending) continue;
      try {
        (*pending)->wait();
      } catch (const Error&) {
        // Destruction during error handling: the failure is already reported.
      }
    }
  }
}

void GradientBuckets::written(int64_t index) {
  ++writes_[index];
  if (!options_.overlap || !reducing_micro_batch_ || expected_writes_.empty()) return;
  if (writes_[index] != expected_writes_[index]) return;
  Bucket& bucket = buckets_[bucket_of_[index]];
  if (++bucket.ready == static_cast<int64_t>(bucket.params.size())) {
    start(bucket);
    ++overlapped_;
  }
}

void GradientBuckets::begin_micro_batch(bool last) {
  reducing_micro_batch_ = last;
  std::fill(writes_.begin(), writes_.end(), 0);
  for (Bucket& b : buckets_) b.ready = 0;
  if (last) overlapped_ = 0;
}

void GradientBuckets::start(Bucket& bucket) {
  WEFT_CHECK(!bucket.pending, "gradient buckets: a bucket was started twice in one step");
  if (!options_.shard) {
    bucket.pending = dp_->all_reduce_async(bucket.buffer, ReduceOp::Sum);
    return;
  }
  // The padding is never written by backward, but an in-place reduce-scatter
  // leaves the other ranks' chunks undefined: it is zeroed before each use.
  const int64_t padded = bucket.buffer.numel();
  if (padded > bucket.elements) bucket.buffer.rows(bucket.elements, padded).zero();
  Tensor mine = bucket.buffer.rows(bucket.slice.begin, bucket.slice.end);
  bucket.pending = dp_->reduce_scatter_async(bucket.buffer, mine, ReduceOp::Sum);
}

void GradientBuckets::gather_parameters() {
  start_gathering_parameters();
  wait_for_parameters();
}

void GradientBuckets::start_gathering_parameters() {
  if (!options_.shard) return;
  awaited_by_forward_ = 0;
  // Every rank issues them in the same order: the forward's.
  for (auto b = buckets_.rbegin(); b != buckets_.rend(); ++b) {
    WEFT_CHECK(!b->gathering, "gradient buckets: parameters gathered twice without a wait");
    Tensor mine = b->values.rows(b->slice.begin, b->slice.end);
    b->gathering = dp_->all_gather_async(mine, b->values);
  }
}

void GradientBuckets::wait_for_parameters() {
  for (Bucket& b : buckets_) {
    if (!b.gathering) continue;
    b.gathering->wait();
    b.gathering.reset();
  }
}

void GradientBuckets::needed(int64_t index) {
  Bucket& bucket = buckets_[bucket_of_[index]];
  if (!bucket.gathering) return;
  bucket.gathering->wait();
  bucket.gathering.reset();
  ++awaited_by_forward_;
}

void GradientBuckets::finish() {
  WEFT_CHECK(reducing_micro_batch_, "gradient buckets: finish() before the last micro-batch");
  wait_for_parameters();  // any a forward pass did not read
  if (expected_writes_.empty()) expected_writes_ = writes_;
  for (size_t i = 0; i < params_.size(); ++i) {
    WEFT_CHECK(writes_[i] == expected_writes_[i], "gradient buckets: ", params_[i]->name,
               " was written ", writes_[i], " times in this backward pass, ",
               expected_writes_[i], " times in the first step");
  }
  // Issue order must be the same on every rank: buckets not started during
  // backward are started here in bucket order, which every rank shares only
  // if every rank overlapped the same ones — true, since all ranks run the
  // same model and the same counts.
  for (Bucket& b : buckets_) {
    if (!b.pending) start(b);
  }
  for (Bucket& b : buckets_) {
    b.pending->wait();
    b.pending.reset();
  }
  reducing_micro_batch_ = false;
}

int64_t GradientBuckets::gradient_buffer_bytes() const {
  int64_t bytes = 0;
  for (const Bucket& b : buckets_) bytes += static_cast<int64_t>(b.buffer.nbytes());
  return bytes;
}

int64_t GradientBuckets::value_buffer_bytes() const {
  int64_t bytes = 0;
  for (const Bucket& b : buckets_) {
    if (b.values.defined()) bytes += static_cast<int64_t>(b.values.nbytes());
  }
  return bytes;
}


}  // namespace weft
