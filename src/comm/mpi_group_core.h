#pragma once
// What the MPI and NCCL communicators share: a group's MPI communicator
// over its processes (the NCCL one is bootstrapped over it), its label,
// options, rank and size, the numbering of its collectives and its view of
// the arrival board, waiting for an MPI request as the board expects,
// split() as MPI_Comm_split, and a Communicator's rank, size and describe()
// taken from its group.

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "mpi_arrivals.h"
#include "weft/comm/communicator.h"

namespace weft {

// What a group is made from; the group takes ownership of `comm`.
struct NewGroup {
  MPI_Comm comm;
  std::string label;  // e.g. "mpi world (4 ranks)"
  CommOptions options;
  GroupArrivals arrivals;  // watches `comm`
};

// Every process of the job, on a new communicator and arrival board,
// labelled "<kind> world (<n> ranks)". Collective over MPI_COMM_WORLD.
NewGroup world_group(const char* kind, CommOptions options);

// The base of the MPI and NCCL communicators' groups.
class MpiGroupCore {
 public:
  MpiGroupCore(const MpiGroupCore&) = delete;
  MpiGroupCore& operator=(const MpiGroupCore&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& label() const { return label_; }
  const CommOptions& options() const { return options_; }
  MPI_Comm comm() const { return comm_; }

  // As MPI_Comm_split: the ranks passing the same color form a new group,
  // ranked by (key, rank), labelled "<kind> group of <n> (ranks ... of
  // <label>)". First `meet` all-gathers every rank's (color, key, next group
  // id): `mine` holds this rank's three ints and `every` receives size() such
  // triples, in rank order. The meeting has the caller's timeout, so that a
  // rank which never comes is named instead of leaving the others in
  // MPI_Comm_split for ever; it also tells every rank who its new group's
  // members are. Collective over the group.
  NewGroup split(const char* kind, int color, int key,
                 const std::function<void(const int* mine, int* every)>& meet);

 protected:
  explicit MpiGroupCore(NewGroup group);
  ~MpiGroupCore();  // frees the communicator, unless MPI is finalised

  // How many collectives this rank has issued in the group.
  int64_t issued() const { return issued_; }
  // Numbers this rank's next collective (from 1) and posts the number on the
  // arrival board, for a rank that times out waiting to read.
  int64_t post_next();
  // Polls `request` of collective `seq` up to the group's timeout, posting on
  // the board that this rank waits in it and still polls. Returns false on
  // timeout, leaving the request in flight and the wait posted, for the
  // report that follows; that report also says when this rank itself did not
  // run for a long stretch of the wait (stopped, then continued).
  bool wait_for(MPI_Request* request, int64_t seq);
  // "all_reduce #2 on mpi world (2 ranks)"
  std::string name(const char* collective, int64_t seq) const;
  // This rank, for messages: "0", or "0 (world 1)" in a split group.
  std::string this_rank() const;
  // "<name> timed out after 1.5 s: rank(s) 1 did not arrive; seen by rank 0",
  // asking the board what holds collective `seq` up (arrival_report.h), or
  // pointing at the rank that reports for the job (GroupArrivals::holdup).
  std::string timed_out(const char* collective, int64_t seq);
  // After timed_out(), before aborting the job: where this rank left the
  // report to another, gives that one time to print it first.
  void yield_to_reporter() const;

 private:
  MPI_Comm comm_;
  std::string label_;
  CommOptions options_;
  GroupArrivals arrivals_;
  int rank_ = 0;
  int size_ = 0;
  int64_t issued_ = 0;
  double longest_pause_ = 0;  // seconds between two polls of the last wait
  bool deferred_report_ = false;
};

// A communicator over one group derived from MpiGroupCore: its rank, size
// and label are the group's.
template <typename Group>
class GroupCommunicator : public Communicator {
 public:
  explicit GroupCommunicator(std::shared_ptr<Group> group) : group_(std::move(group)) {}

  int rank() const final { return group_->rank(); }
  int size() const final { return group_->size(); }
  std::string describe() const final { return group_->label(); }

 protected:
  Group& group() const { return *group_; }
  // For the handles of collectives in flight, which keep the group alive.
  const std::shared_ptr<Group>& shared_group() const { return group_; }

 private:
  std::shared_ptr<Group> group_;
};

}  // namespace weft
