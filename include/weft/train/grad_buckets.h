#pragma once
// Data-parallel gradient reduction in buckets (PyTorch DDP's and
// Megatron-LM's scheme). Parameters are grouped, in reverse construction
// order (roughly the order backward finishes them), into buckets of at most
// `bucket_bytes`; each bucket owns one flat buffer and its parameters' grad
// tensors become views into it, so a bucket is reduced by one collective.
//
// With overlap on, a bucket's asynchronous all-reduce starts as soon as the
// last of its gradients is final, while backward goes on. A gradient is
// final when its layer has written it as many times as it was written in the
// first step's last micro-batch (a tied embedding is written twice), so the
// first step reduces every bucket after backward and later steps overlap.
//
// The gradients are summed, not averaged: the trainer already scales each
// rank's loss by 1 / (counted tokens of the whole global batch).

#include <cstdint>
#include <memory>
#include <vector>

#include "weft/comm/communicator.h"
#include "weft/model/parameter.h"

namespace weft {

struct BucketOptions {
  int64_t bucket_bytes = 25 << 20;
  bool overlap = true;
};

class GradientBuckets {
 public:
  // Re-points every parameter's grad into the buckets' buffers (values kept)
  // and installs the grad_written hooks; parameters must outlive this.
  GradientBuckets(const std::vector<Parameter*>& params, std::shared_ptr<Communicator> dp,
                  BucketOptions options = {});
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Before each micro-batch's backward; only the last one reduces.
  void begin_micro_batch(bool last);
  // After the last micro-batch's backward: starts the buckets not started
  // yet and waits for all. Every rank's gradients are then the sum over the
  // data-parallel group.
  void finish();

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets whose reduction started during backward in the last step.
  int64_t overlapped_last_step() const { return overlapped_; }
  int64_t bytes_per_step() const;

 private:
  struct Bucket {
    std::vector<Parameter*> params;
    Tensor buffer;
    int64_t ready = 0;  // parameters whose gradient is final
    Pending pending;
  };
  void written(int64_t index);  // parameter `index` has added to its gradient
  void start(Bucket& bucket);

  std::shared_ptr<Communicator> dp_;
  BucketOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<Parameter*> params_;
  std::vector<int64_t> bucket_of_;        // per parameter index
  std::vector<int64_t> writes_;           // this micro-batch, per parameter index
  std::vector<int64_t> expected_writes_;  // learned from the first step; empty until then
  bool reducing_micro_batch_ = false;
  int64_t overlapped_ = 0;
};

}  // namespace weft
