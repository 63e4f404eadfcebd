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
//
// Sharded (ZeRO-1, `BucketOptions::shard`): each bucket is reduce-scattered
// in place instead, so rank r holds the summed gradient only of its slice of
// the bucket (bucket_plan.h), which is all its optimizer updates. The
// parameters' values become views into a flat buffer per bucket too, laid
// out like the gradients, and after the optimizer step every rank's updated
// slices are all-gathered in place. start_gathering_parameters() issues the
// gathers in the order the forward pass first reads the buckets (the last
// bucket holds the first layers) and returns: each parameter's
// value_needed() hook, called by its layer's forward, waits for its own
// bucket only, so the next forward runs while later buckets still gather.

#include <cstdint>
#include <memory>
#include <vector>

#include "weft/comm/communicator.h"
#include "weft/model/parameter.h"
#include "weft/train/bucket_plan.h"

namespace weft {

struct BucketOptions {
  int64_t bucket_bytes = 25 << 20;
  bool overlap = true;
  bool shard = false;  // ZeRO-1: reduce-scatter gradients, all-gather parameters
};

// What rank dp_rank of dp owns of each parameter under ZeRO-1 with these
// options: the ranges its AdamW is built with (AdamW::AdamW's `owned`).
std::vector<ElementRange> zero_owned_ranges(const std::vector<Parameter*>& params,
                                            int64_t dp_rank, int64_t dp,
                                            const BucketOptions& options);

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
  // data-parallel group (sharded: in its owned ranges only).
  void finish();
  // Sharded: every rank's updated slices to every rank, in place. Call after
  // the optimizer step; returns when the parameters are whole again.
  void gather_parameters();
  // Sharded: the same gathers, issued without waiting; a parameter is whole
  // once its layer's forward has called value_needed(), or after
  // wait_for_parameters(). Anything that reads values outside a forward pass
  // (the optimizer, a checkpoint) must call wait_for_parameters() first.
  void start_gathering_parameters();
  void wait_for_parameters();
  // Buckets whose gather a forward pass waited for, since the last start:
  // the gathers that overlapped computation.
  int64_t gathers_awaited_by_forward() const { return awaited_by_forward_; }
  bool sharded() const { return options_.shard; }
  // Sharded: this rank's range of each parameter (as zero_owned_ranges).
  const std::vector<ElementRange>& owned() const { return owned_; }

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets whose reduction started during backward in the last step.
  int64_t overlapped_last_step() const { return overlapped_; }
  // Bytes of the flat gradient buffers and (sharded) value buffers, padding
  // included.
  int64_t gradient_buffer_bytes() const;
  int64_t value_buffer_bytes() const;

 private:
  struct Bucket {
    std::vector<Parameter*> params;
    Tensor buffer;  // gradients
    Tensor values;  // sharded: the parameters' values; undefined otherwise
    int64_t elements = 0;  // of parameters; the rest of the buffers is padding
    ElementRange slice;    // sharded: this rank's
    int64_t ready = 0;  // parameters whose gradient is final
    Pending pending;    // the gradients' reduction
    Pending gathering;  // sharded: the values' all-gather
  };
  void written(int64_t index);  // parameter `index` has added to its gradient
  void needed(int64_t index);   // a forward pass is about to read parameter `index`
  void start(Bucket& bucket);

  std::shared_ptr<Communicator> dp_;
  BucketOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<Parameter*> params_;
  std::vector<ElementRange> owned_;       // sharded, per parameter index
  std::vector<int64_t> bucket_of_;        // per parameter index
  std::vector<int64_t> writes_;           // this micro-batch, per parameter index
  std::vector<int64_t> expected_writes_;  // learned from the first step; empty until then
  bool reducing_micro_batch_ = false;
  int64_t overlapped_ = 0;
  int64_t awaited_by_forward_ = 0;
};

}  // namespace weft
