#pragma once
// Who arrived: each rank posts, for every group it belongs to, how many
// collectives it has issued in that group, in an MPI window of its own
// memory. When a collective times out, the waiting rank reads the counts of
// the group's members to name those that never issued it. Posting is a local
// atomic write per collective; reading happens only after a timeout and is
// bounded in time, because a rank stuck outside MPI may not answer on every
// transport.
//
// One window per world with a slot per group, not a window per group: Open
// MPI 4.1 names its shared-memory window files by communicator id, which
// disjoint groups split from one communicator share.

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace weft {

class ArrivalBoard {
 public:
  static constexpr int kGroups = 4096;  // slots per rank; later groups go unwatched

  // Collective over `world`. Without one-sided MPI the board stays empty and
  // reads answer nothing.
  explicit ArrivalBoard(MPI_Comm world);
  ~ArrivalBoard();  // collective over the world (MPI_Win_free)
  ArrivalBoard(const ArrivalBoard&) = delete;
  ArrivalBoard& operator=(const ArrivalBoard&) = delete;

  // Group ids: the world is 0; the members of a new group agree on the
  // largest next_group_id() among them, and each then claims it.
  int next_group_id() const { return next_group_id_; }
  void claim_group_id(int id) { next_group_id_ = id + 1; }

  void post(int group, int64_t issued);
  // The counts of `group` at the given world ranks, or nothing when they do
  // not all answer within `patience_seconds`.
  std::optional<std::vector<int64_t>> read(int group, const std::vector<int>& world_ranks,
                                           double patience_seconds);

 private:
  MPI_Win window_ = MPI_WIN_NULL;
  int world_rank_ = 0;
  int next_group_id_ = 1;
};

// What a split gives this rank's color, from every old rank's (color, key,
// next group id) triple: the members' old ranks in new-rank order (by key,
// then old rank) and the new group's id, the largest next id among them.
struct SplitOutcome {
  std::vector<int> members;
  int group_id = 0;
};
SplitOutcome split_outcome(const std::vector<int>& triples, int color);
// "mpi group of 2 (ranks 3 1 of mpi world (4 ranks))"
std::string split_label(const char* kind, const std::vector<int>& members,
                        const std::string& parent);

// One group's view of its world's board.
class GroupArrivals {
 public:
  // `comm`'s ranks are translated to world ranks (the board's world is
  // MPI_COMM_WORLD's processes).
  GroupArrivals(std::shared_ptr<ArrivalBoard> board, int group_id, MPI_Comm comm);

  const std::shared_ptr<ArrivalBoard>& board() const { return board_; }
  // Called as this rank issues the group's collective number `issued` (from 1).
  void post(int64_t issued) { board_->post(id_, issued); }
  // The members that have not issued collective `seq`, as a phrase for a
  // timeout message: "rank(s) 1, 3 (world 7) did not arrive".
  std::string who_did_not_arrive(int64_t seq);
  // "2", or "2 (world 6)" when the group rank is not the world rank.
  std::string rank_name(int rank) const;

 private:
  std::shared_ptr<ArrivalBoard> board_;
  int id_;
  std::vector<int> world_ranks_;  // group rank -> world rank
};

}  // namespace weft
