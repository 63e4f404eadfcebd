#pragma once
// Communicator: the collectives one group of ranks needs. Implementations:
// a single rank (no-ops), simulated ranks (threads of one process, shared
// memory), MPI (CPU tensors across processes and machines) and NCCL (GPU
// tensors). Layers hold a Communicator for their tensor-parallel group and
// never know which implementation it is.
//
// Contract, as MPI and NCCL: every rank of a group issues the same
// collectives in the same order, on tensors of the same dtype and element
// count. Tensors are contiguous; dtypes f32, f64 and i32 (Max and Sum only
// for i32; Average divides after summing). Sums add the ranks' values in a
// fixed order, so every rank ends with the same bits.
//
// Asynchronous forms return a Pending handle and complete in the order they
// were issued; the tensors must stay alive and untouched until wait()
// returns. A blocking collective issued while asynchronous ones are in flight
// runs after them. The blocking forms are, unless an implementation has a
// cheaper path of its own, the asynchronous form waited for at once.
//
// A collective that does not complete within the group's timeout fails on
// every rank with one message naming the collective, its sequence number in
// the group and the rank(s) that did not arrive; the group is then unusable.

#include <memory>
#include <string>

#include "weft/tensor/tensor.h"

namespace weft {

enum class ReduceOp { Sum, Average, Max };
const char* reduce_op_name(ReduceOp op);

// An asynchronous collective in flight.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  // Blocks until the collective is complete; throws weft::Error if it failed
  // (timeout, aborted group). Idempotent.
  virtual void wait() = 0;
  // Orders the work queued on the compute stream from now on after the
  // collective, without blocking the host, where the collective runs on a
  // device stream (NCCL); elsewhere the same as wait(). The tensors are then
  // free for kernels, not for the host. It checks no failure or timeout: a
  // later wait() does, this one's or that of a later collective of the group
  // (collectives complete in issue order).
  virtual void wait_on_device() { wait(); }
};
using Pending = std::unique_ptr<PendingCollective>;

// Options shared by every implementation.
struct CommOptions {
  double timeout_seconds = 300.0;  // per collective; <= 0: wait forever
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // For messages, e.g. "simulated world (4 ranks)" or "mpi tp group 1".
  virtual std::string describe() const = 0;

  // In place: every rank ends with the element-wise reduction over the group.
  virtual void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
  virtual Pending all_reduce_async(Tensor& t, ReduceOp op = ReduceOp::Sum) = 0;

  // `in` holds size() equal chunks of out.numel() elements; rank r's `out`
  // receives the reduction over the group of every rank's chunk r. In place
  // (ZeRO's gradient buckets): `out` is exactly chunk r of `in`; the other
  // chunks of `in` are then left undefined.
  virtual void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op = ReduceOp::Sum);
  virtual Pending reduce_scatter_async(const Tensor& in, Tensor& out,
                                       ReduceOp op = ReduceOp::Sum) = 0;

  // `out` holds size() chunks of in.numel() elements; chunk r is rank r's `in`.
  // In place: `in` is exactly chunk r of `out`.
  virtual void all_gather(const Tensor& in, Tensor& out);
  virtual Pending all_gather_async(const Tensor& in, Tensor& out) = 0;

  // In place: every rank ends with root's tensor.
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual void barrier() = 0;

  // Collective over this group, as MPI_Comm_split: the ranks passing the same
  // color form a new group, ranked by (key, rank). Every rank must call it.
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;
};

// The group of one: every collective is the identity (or a copy).
std::shared_ptr<Communicator> make_single_rank_communicator();

// A Pending that is already complete.
Pending completed_collective();

// Checks shared by every implementation; throw weft::Error naming the
// collective, the tensor and what is wrong.
namespace comm_checks {
void check_reducible(const char* collective, const Tensor& t, ReduceOp op);
// Other overlaps of input and output than the in-place layout are refused.
void check_reduce_scatter(const Tensor& in, const Tensor& out, int group_size, int rank,
                          ReduceOp op);
void check_all_gather(const Tensor& in, const Tensor& out, int group_size, int rank);
bool reduce_scatter_in_place(const Tensor& in, const Tensor& out, int rank);
bool all_gather_in_place(const Tensor& in, const Tensor& out, int rank);
void check_root(const char* collective, int root, int group_size);
}  // namespace comm_checks

}  // namespace weft
