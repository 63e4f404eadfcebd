#pragma once
// Communicator: the collectives one group of ranks needs. Implementations:
// a single rank (no-ops, below), simulated ranks as threads, MPI on CPU, and
// NCCL on GPU. Layers hold a Communicator for their tensor-parallel group and
// never know which implementation it is.

#include <memory>

#include "weft/tensor/tensor.h"

namespace weft {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank ends with the element-wise sum over the group.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // In place: every rank ends with root's tensor.
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual void barrier() = 0;
};

// The group of one: every collective is the identity.
std::shared_ptr<Communicator> make_single_rank_communicator();

}  // namespace weft
