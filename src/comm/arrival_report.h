#pragma once
// Who holds a collective up, in words for its timeout message, from what the
// arrival board (mpi_arrivals.h) says about each rank: how many collectives it
// has issued per group, which collective it waits in, and whether it still
// polls. No MPI here: the board is read through BoardView, so that the
// reasoning is tested on made-up boards.
//
// At collective #n of group G, a member
//   - "did not arrive" when it has issued fewer than n collectives in G and is
//     not waiting in another collective, or is waiting but no longer polls
//     (stopped, or stuck outside MPI);
//   - is held up elsewhere when it has issued fewer than n but waits, still
//     polling, in collective #m of another group: the report follows it there
//     and names whoever holds that one up, so a healthy rank blocked by a
//     stopped one is not blamed;
//   - "issued it, then stopped responding" when it has issued #n but no longer
//     polls, or "issued it, then left without waiting for it" when it waits in
//     nothing: MPI moves a collective on only inside the calls of every
//     member (said only when every member issued #n);
//   - is "unknown" when it did not answer the read: never guessed. When
//     every other member arrived, the silent ones are named as what holds
//     the collective up (a lost host's ranks), still without saying whether
//     they arrived.
// A rank that timed out itself counts as polling: it was, until then.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace weft {

// A group the board knows the members of.
struct KnownGroup {
  int id = 0;
  std::vector<int> world_ranks;  // group rank -> world rank
  std::string label;             // "mpi group of 2 (ranks 0 1 of mpi world (4 ranks))"
};

// A collective a rank waits in: number `seq` of the group with id `group_id`.
struct WaitingIn {
  int group_id = 0;
  int64_t seq = 0;
};

// The board as read after a timeout. A rank whose window does not answer is
// unknown: issued() leaves its entry empty, waiting() answers nothing and
// responding() false.
class BoardView {
 public:
  virtual ~BoardView() = default;
  // How many collectives each of `world_ranks` has issued in group `group_id`.
  virtual std::vector<std::optional<int64_t>> issued(int group_id,
                                                     const std::vector<int>& world_ranks) = 0;
  // Whether ranks post what they wait in. When they do not (the NCCL
  // communicator waits on CUDA events), only the counts speak.
  virtual bool posts_waits() const = 0;
  // The collective `world_rank` waits in, if any.
  virtual std::optional<WaitingIn> waiting(int world_rank) = 0;
  // Whether `world_rank` still polls (its heartbeat moves).
  virtual bool responding(int world_rank) = 0;
  // The group with id `group_id` that holds `world_rank`, where this rank
  // knows it (its own groups and their siblings); nullptr otherwise.
  virtual const KnownGroup* group(int group_id, int world_rank) const = 0;
};

// What holds collective `seq` of `group` up, as a phrase for the timeout
// message, e.g. "rank(s) 1, 3 did not arrive" or "rank 0 (world 2) waits in
// collective #7 on <label>, where world rank(s) 3 did not arrive".
// `rank_name` names a member by its group rank ("1 (world 3)").
std::string holdup_report(BoardView& board, const KnownGroup& group, int64_t seq,
                          const std::function<std::string(int group_rank)>& rank_name);

}  // namespace weft
