#pragma once
// CountingCommunicator: a decorator that forwards every call to the
// communicator it wraps and tallies, per collective, the calls and the
// payload bytes handed in (numel × dtype size of the tensor passed: the
// tensor reduced or broadcast in place, the input of reduce_scatter and of
// all_gather). It measures what a training step asks of a group, e.g. to
// check the formula of weft/train/comm_volume.h; what a given algorithm puts
// on the wire follows from these payloads.
//
// A group of one moves no data: its collectives are forwarded, not counted.
// Calls are counted when issued (asynchronous ones too), from the one thread
// that uses the communicator, as the wrapped one requires.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "weft/comm/communicator.h"

namespace weft {

struct CollectiveTally {
  int64_t calls = 0;
  int64_t bytes = 0;  // payload, summed over the calls
  bool operator==(const CollectiveTally&) const = default;
};

struct CommTally {
  CollectiveTally all_reduce, reduce_scatter, all_gather, broadcast;
  int64_t barriers = 0;

  int64_t calls() const;  // every collective and barrier
  int64_t bytes() const;
  CommTally& operator+=(const CommTally& other);
  bool operator==(const CommTally&) const = default;
};

// "all_reduce 52 calls 1258291208 B, all_gather 1 call 262144 B" (non-zero
// entries only; "none" when empty), for messages and test failures.
std::string describe(const CommTally& tally);
std::ostream& operator<<(std::ostream& out, const CommTally& tally);
std::ostream& operator<<(std::ostream& out, const CollectiveTally& entry);  // "3 calls 96 B"

class CountingCommunicator final : public Communicator {
 public:
  explicit CountingCommunicator(std::shared_ptr<Communicator> inner);

  const CommTally& tally() const { return tally_; }
  void reset() { tally_ = {}; }
  const std::shared_ptr<Communicator>& inner() const { return inner_; }

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string describe() const override { return "counting " + inner_->describe(); }

  void all_reduce(Tensor& t, ReduceOp op) override;
  Pending all_reduce_async(Tensor& t, ReduceOp op) override;
  void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) override;
  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override;
  void all_gather(const Tensor& in, Tensor& out) override;
  Pending all_gather_async(const Tensor& in, Tensor& out) override;
  void broadcast(Tensor& t, int root) override;
  void barrier() override;
  // A new CountingCommunicator, with a tally of its own, over the wrapped
  // group's split.
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  void count(CollectiveTally& entry, const Tensor& payload);

  std::shared_ptr<Communicator> inner_;
  CommTally tally_;
};

}  // namespace weft
