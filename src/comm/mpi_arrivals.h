#pragma once
// Who arrived: each rank posts, in an MPI window of its own memory, how many
// collectives it has issued in each group it belongs to; while it waits for
// one it also posts which one, and a heartbeat that moves as it polls. When a
// collective times out, the waiting rank reads the board and says who holds
// the collective up (arrival_report.h). Posting is a local write; reading
// happens only after a timeout and gives each rank a bounded patience,
// because a rank stopped outside MPI may not answer on every transport: one
// that does not is reported as unknown, not guessed.
//
// Slots are written with MPI_Put and read with MPI_Rget, not accumulates:
// Open MPI's shared-memory window takes a spin lock of the target for every
// accumulate, and a rank stopped while holding its own would hang every
// reader inside MPI, where no patience helps. A value that matters to a
// report belongs to a rank that has stopped writing it, so it is read whole.
//
// Where MPI gives no window on every rank (Open MPI between hosts over TCP),
// each rank keeps its slots in its own memory and the others ask for them
// (mpi_roll_call.h); everything else is the same.
//
// One window per world with a slot per group, not a window per group: Open
// MPI 4.1 names its shared-memory window files by communicator id, which
// disjoint groups split from one communicator share.

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "arrival_report.h"
#include "mpi_roll_call.h"

namespace weft {

class ArrivalBoard {
 public:
  // A rank's slots: how many collectives it issued in each group id below
  // kGroups (later groups go unwatched), what it waits in as
  // (group id << 48) | seq (0: nothing), and its heartbeat, which moves while
  // it polls.
  static constexpr int kGroups = 4096;
  static constexpr int kWaitingSlot = kGroups;
  static constexpr int kHeartbeatSlot = kGroups + 1;
  static constexpr int kSlots = kGroups + 2;
  // The heartbeat of a rank whose own wait timed out: it stops beating and
  // says where its report stands, so that others count it as held up, not
  // stopped, and one report speaks for the job.
  static constexpr int64_t kDeciding = -1;
  static constexpr int64_t kReporting = -2;
  static constexpr int64_t kDeferring = -3;

  // Collective over `world`. Without one-sided MPI the ranks ask each other.
  explicit ArrivalBoard(MPI_Comm world);
  ~ArrivalBoard();  // collective over the world (MPI_Win_free)
  ArrivalBoard(const ArrivalBoard&) = delete;
  ArrivalBoard& operator=(const ArrivalBoard&) = delete;

  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }

  // Group ids: the world is 0; the members of a new group agree on the
  // largest next_group_id() among them, and each then claims it. Disjoint
  // groups may share an id; a rank's own groups never do.
  int next_group_id() const { return next_group_id_; }
  void claim_group_id(int id) { next_group_id_ = id + 1; }
  // The groups this rank knows the members of, so that a report can follow a
  // rank held up in one of them: its own, and every group of each split it
  // took part in.
  void learn(KnownGroup group);
  const KnownGroup* find(int group_id, int world_rank) const;
  // One past the largest id of a known group.
  int known_groups() const;

  // This rank has issued `issued` collectives in `group`.
  void post(int group, int64_t issued);
  // This rank waits in collective `seq` of `group`, polling: beat() as it
  // polls (it posts at most every few milliseconds).
  void begin_wait(int group, int64_t seq);
  void end_wait();
  void beat();
  // Answers other ranks' questions about this rank's slots, where they ask
  // (beat() does it too, and a rank that gave up keeps doing it).
  void serve();
  // This rank's own wait timed out: it stops beating (it reports, then the
  // job ends) and posts `state`, one of kDeciding, kReporting, kDeferring.
  void give_up(int64_t state);
  // Whether this rank has posted a wait: ranks of the MPI communicator do,
  // those of the NCCL one (waiting on CUDA events) do not.
  bool posts_waits() const { return posts_waits_; }

  // Slots [first, first + count) of each of `world_ranks`; an empty entry
  // for a rank that did not answer within `patience_seconds`. Its request is
  // abandoned in flight and later reads skip that rank at once.
  std::vector<std::optional<std::vector<int64_t>>> read(const std::vector<int>& world_ranks,
                                                        int first, int count,
                                                        double patience_seconds);

 private:
  void put(int slot, int64_t value);
  // read() by asking each rank (no windows).
  std::vector<std::optional<std::vector<int64_t>>> ask(const std::vector<int>& world_ranks,
                                                       int first, int count,
                                                       double patience_seconds);

  MPI_Win window_ = MPI_WIN_NULL;
  std::unique_ptr<RollCall> roll_call_;  // instead of the window, where there is none
  int world_rank_ = 0;
  int world_size_ = 1;
  int next_group_id_ = 1;
  bool posts_waits_ = false;
  bool gave_up_ = false;
  int64_t heartbeat_ = 0;
  std::chrono::steady_clock::time_point last_beat_;
  std::vector<KnownGroup> known_;
  std::set<int> silent_;  // world ranks that did not answer a read
  struct Abandoned {
    MPI_Request request;
    std::unique_ptr<int64_t[]> buffer;  // MPI may still write it
  };
  std::vector<Abandoned> abandoned_;
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
  // MPI_COMM_WORLD's processes); the board learns the group.
  GroupArrivals(std::shared_ptr<ArrivalBoard> board, int group_id, MPI_Comm comm,
                std::string label);

  const std::shared_ptr<ArrivalBoard>& board() const { return board_; }
  // Called as this rank issues the group's collective number `issued` (from 1).
  void post(int64_t issued) { board_->post(group_.id, issued); }
  // While this rank waits in the group's collective `seq`.
  void begin_wait(int64_t seq) { board_->begin_wait(group_.id, seq); }
  void beat() { board_->beat(); }
  // Answers other ranks' questions, where they ask (ArrivalBoard::serve).
  void serve() const { board_->serve(); }
  void end_wait() { board_->end_wait(); }
  // This rank's own wait timed out; it decides whether to report.
  void give_up() { board_->give_up(ArrivalBoard::kDeciding); }
  // It leaves the report to another rank.
  void defer() { board_->give_up(ArrivalBoard::kDeferring); }
  // Teaches the board every group of a split of this group, from the
  // meeting's triples (see split_outcome), labelled as split_label does.
  void learn_split(const char* kind, const std::vector<int>& triples);
  // After give_up(): what holds collective `seq` up, as a phrase for a
  // timeout message: "rank(s) 1, 3 (world 7) did not arrive"
  // (arrival_report.h). Once one rank has timed out, the abort that follows
  // continues stopped ranks (SIGCONT), and what later ranks read may have
  // moved. So where another rank already reports, or a lower one is deciding
  // to, this rank defers to it instead (`deferred` says so): "world rank 0
  // timed out as well and reports what holds the job up". Some rank always
  // reports: the lowest of those that time out never defers to a deciding one.
  std::string holdup(int64_t seq, bool* deferred);
  // "2", or "2 (world 6)" when the group rank is not the world rank.
  std::string rank_name(int rank) const;

 private:
  std::shared_ptr<ArrivalBoard> board_;
  KnownGroup group_;
};

}  // namespace weft
