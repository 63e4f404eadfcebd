#include "weft/train/grad_buckets.h"

#include "weft/tensor/error.h"

namespace weft {

GradientBuckets::GradientBuckets(const std::vector<Parameter*>& params,
                                 std::shared_ptr<Communicator> dp, BucketOptions options)
    : dp_(std::move(dp)), options_(options), params_(params) {
  WEFT_CHECK(options_.bucket_bytes > 0, "train.bucket_mb must be positive");
  WEFT_CHECK(!params_.empty(), "gradient buckets: the model has no parameters");
  const DType dtype = params_.front()->grad.dtype();
  const Device device = params_.front()->grad.device();

  // Reverse construction order: the output end of the model finishes first.
  std::vector<std::vector<int64_t>> groups;
  int64_t bytes = 0;
  for (int64_t i = static_cast<int64_t>(params_.size()) - 1; i >= 0; --i) {
    const Parameter& p = *params_[i];
    WEFT_CHECK(p.grad.dtype() == dtype && p.grad.device() == device, "gradient buckets: ", p.name,
               " is ", p.grad.describe(), ", the others ", dtype_name(dtype));
    if (groups.empty() || (bytes > 0 && bytes + static_cast<int64_t>(p.grad.nbytes()) >
                                            options_.bucket_bytes)) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(i);
    bytes += static_cast<int64_t>(p.grad.nbytes());
  }

  bucket_of_.assign(params_.size(), -1);
  writes_.assign(params_.size(), 0);
  buckets_.resize(groups.size());
  for (size_t b = 0; b < groups.size(); ++b) {
    Bucket& bucket = buckets_[b];
    int64_t elements = 0;
    for (int64_t i : groups[b]) elements += params_[i]->grad.numel();
    bucket.buffer = Tensor::zeros({elements}, dtype, device);
    int64_t offset = 0;
    for (int64_t i : groups[b]) {
      Parameter& p = *params_[i];
      const int64_t n = p.grad.numel();
      Tensor view = bucket.buffer.view({elements}).rows(offset, offset + n).view(p.grad.shape());
      view.copy_from(p.grad);
      p.grad = view;
      offset += n;
      bucket.params.push_back(&p);
      bucket_of_[i] = static_cast<int64_t>(b);
      p.on_grad_written = [this, i](Parameter&) { written(i); };
    }
  }
}

GradientBuckets::~GradientBuckets() {
  for (Parameter* p : params_) p->on_grad_written = nullptr;
  for (Bucket& b : buckets_) {
    if (b.pending) {
      try {
        b.pending->wait();
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
  bucket.pending = dp_->all_reduce_async(bucket.buffer, ReduceOp::Sum);
}

void GradientBuckets::finish() {
  WEFT_CHECK(reducing_micro_batch_, "gradient buckets: finish() before the last micro-batch");
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

int64_t GradientBuckets::bytes_per_step() const {
  int64_t bytes = 0;
  for (const Bucket& b : buckets_) bytes += static_cast<int64_t>(b.buffer.nbytes());
  return bytes;
}

}  // namespace weft
