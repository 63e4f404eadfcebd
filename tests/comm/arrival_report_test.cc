// What a timed-out MPI collective says holds it up, from made-up arrival
// boards: exactly the ranks that did not arrive, a healthy rank held up in
// another group followed to the rank that holds it, a rank that stopped after
// issuing named as such, and a rank whose window does not answer reported as
// unknown, never guessed.

#include "comm/arrival_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

// What one rank has posted.
struct FakeRank {
  std::map<int, int64_t> issued;  // group id -> collectives issued
  std::optional<WaitingIn> waiting;
  bool responding = true;
  bool silent = false;  // its window does not answer
};

class FakeBoard final : public BoardView {
 public:
  // Four ranks as in tensor parallelism of 2: the world (id 0), tp groups
  // {0, 1} and {2, 3} (id 1), dp groups {0, 2} and {1, 3} (id 2).
  static FakeBoard four_ranks() {
    FakeBoard board;
    board.ranks.resize(4);
    const std::string world = "mpi world (4 ranks)";
    board.groups = {
        {0, {0, 1, 2, 3}, world},
        {1, {0, 1}, "mpi group of 2 (ranks 0 1 of " + world + ")"},
        {1, {2, 3}, "mpi group of 2 (ranks 2 3 of " + world + ")"},
        {2, {0, 2}, "mpi group of 2 (ranks 0 2 of " + world + ")"},
        {2, {1, 3}, "mpi group of 2 (ranks 1 3 of " + world + ")"},
    };
    return board;
  }

  const KnownGroup& known(int id, int world_rank) const {
    const KnownGroup* g = group(id, world_rank);
    EXPECT_NE(g, nullptr);
    return *g;
  }

  // `world_rank` has issued `count` collectives in group `id` and waits in
  // the last, polling.
  void waits(int world_rank, int id, int64_t count) {
    ranks[world_rank].issued[id] = count;
    ranks[world_rank].waiting = WaitingIn{id, count};
  }

  std::vector<std::optional<int64_t>> issued(int group_id,
                                             const std::vector<int>& world_ranks) override {
    std::vector<std::optional<int64_t>> counts;
    for (int r : world_ranks) {
      if (ranks[r].silent) {
        counts.push_back(std::nullopt);
      } else {
        counts.push_back(ranks[r].issued.count(group_id) ? ranks[r].issued.at(group_id) : 0);
      }
    }
    return counts;
  }
  bool posts_waits() const override { return posts; }
  std::optional<WaitingIn> waiting(int world_rank) override {
    return ranks[world_rank].silent ? std::nullopt : ranks[world_rank].waiting;
  }
  bool responding(int world_rank) override {
    return !ranks[world_rank].silent && ranks[world_rank].responding;
  }
  const KnownGroup* group(int group_id, int world_rank) const override {
    for (const KnownGroup& g : groups) {
      if (g.id == group_id && std::find(g.world_ranks.begin(), g.world_ranks.end(), world_rank) !=
                                  g.world_ranks.end()) {
        return &g;
      }
    }
    return nullptr;
  }

  std::vector<FakeRank> ranks;
  std::vector<KnownGroup> groups;
  bool posts = true;
};

// Names a member as the MPI communicator does: "1 (world 3)".
std::string report(FakeBoard& board, const KnownGroup& group, int64_t seq) {
  return holdup_report(board, group, seq, [&group](int rank) {
    const int world = group.world_ranks[rank];
    return world == rank ? std::to_string(rank) : detail::concat(rank, " (world ", world, ")");
  });
}

TEST(ArrivalReport, NamesExactlyTheRanksThatDidNotArrive) {
  for (int stopped = 0; stopped < 4; ++stopped) {
    FakeBoard board = FakeBoard::four_ranks();
    for (int r = 0; r < 4; ++r) board.waits(r, 0, 5);
    board.ranks[stopped].issued[0] = 4;  // stopped before #5, waiting in nothing
    board.ranks[stopped].waiting.reset();
    board.ranks[stopped].responding = false;
    EXPECT_EQ(report(board, board.known(0, 0), 5),
              detail::concat("rank(s) ", stopped, " did not arrive"));
  }
}

TEST(ArrivalReport, NamesMembersOfASplitGroupByGroupAndWorldRank) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(1, 2, 3);
  board.ranks[3].issued[2] = 2;
  EXPECT_EQ(report(board, board.known(2, 3), 3), "rank(s) 1 (world 3) did not arrive");
}

// World rank 1 stopped before tp collective #7; world rank 0 waits there,
// healthy, and so has not issued dp collective #3, which world rank 2 waits
// in. Rank 2's report follows rank 0 to the tp group and names world rank 1.
TEST(ArrivalReport, FollowsAHealthyRankHeldUpInAnotherGroup) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(0, 1, 7);
  board.ranks[0].issued[2] = 2;
  board.ranks[1].issued = {{1, 6}, {2, 2}};
  board.ranks[1].responding = false;
  board.waits(2, 2, 3);
  EXPECT_EQ(report(board, board.known(2, 2), 3),
            "rank 0 waits in collective #7 on mpi group of 2 (ranks 0 1 of mpi world (4 ranks)), "
            "where world rank(s) 1 did not arrive");
}

// A rank stopped while waiting in another collective is the one, not a rank
// held up: it no longer polls.
TEST(ArrivalReport, RankStoppedWhileWaitingElsewhereDidNotArrive) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(1, 1, 7);
  board.ranks[1].issued[2] = 2;
  board.ranks[1].responding = false;
  board.waits(3, 2, 3);
  EXPECT_EQ(report(board, board.known(2, 3), 3), "rank(s) 0 (world 1) did not arrive");
}

// Everyone issued tp collective #7, but world rank 2 stopped inside its wait:
// MPI moves a collective on only inside the calls of every member.
TEST(ArrivalReport, NamesARankThatStoppedAfterIssuing) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(2, 1, 7);
  board.ranks[2].responding = false;
  board.waits(3, 1, 7);
  EXPECT_EQ(report(board, board.known(1, 3), 7),
            "rank(s) 0 (world 2) issued it, then stopped responding");
  // World rank 1 waits in dp #3 with world rank 3, which is held up there.
  board.ranks[3].issued[2] = 2;
  board.waits(1, 2, 3);
  EXPECT_EQ(report(board, board.known(2, 1), 3),
            "rank 1 (world 3) waits in collective #7 on mpi group of 2 (ranks 2 3 of mpi world (4 "
            "ranks)), where world rank(s) 2 issued it, then stopped responding");
}

TEST(ArrivalReport, NamesARankThatIssuedButDoesNotWait) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(0, 1, 4);
  board.ranks[1].issued[1] = 4;
  EXPECT_EQ(report(board, board.known(1, 0), 4),
            "rank(s) 1 issued it, then left without waiting for it (stopped, or busy outside MPI)");
}

TEST(ArrivalReport, ARankThatDoesNotAnswerIsUnknownNotGuessed) {
  FakeBoard board = FakeBoard::four_ranks();
  for (int r = 0; r < 3; ++r) board.waits(r, 0, 5);
  board.ranks[3].silent = true;
  // Everyone else arrived: the silent rank holds the collective up, as a
  // lost host's ranks do, though whether it arrived is still not said.
  EXPECT_EQ(report(board, board.known(0, 0), 5),
            "rank(s) 3 did not answer, and every other rank arrived (host down or unreachable, "
            "or stopped outside MPI)");
  // Beside a rank that certainly did not arrive, it stays unknown.
  board.ranks[1].issued[0] = 4;
  board.ranks[1].waiting.reset();
  EXPECT_EQ(report(board, board.known(0, 0), 5),
            "rank(s) 1 did not arrive; whether rank(s) 3 arrived is unknown (they did not "
            "answer)");
}

TEST(ArrivalReport, EveryRankIssuedAndPollsPointsAtSizes) {
  FakeBoard board = FakeBoard::four_ranks();
  for (int r = 0; r < 4; ++r) board.waits(r, 0, 5);
  EXPECT_EQ(report(board, board.known(0, 0), 5),
            "every rank issued it, yet it did not complete (do their tensors differ in size?)");
}

// Where ranks do not post their waits (the NCCL communicator), only the
// counts speak: a missing rank is named, and a stopped one cannot be told.
TEST(ArrivalReport, WithoutPostedWaitsOnlyCountsSpeak) {
  FakeBoard board = FakeBoard::four_ranks();
  board.posts = false;
  board.ranks[0].issued[0] = 5;
  board.ranks[1].issued[0] = 5;
  board.ranks[2].issued[0] = 4;
  board.ranks[3].issued[0] = 5;
  board.ranks[3].responding = false;
  EXPECT_EQ(report(board, board.known(0, 0), 5), "rank(s) 2 did not arrive");
  board.ranks[2].issued[0] = 5;
  EXPECT_EQ(report(board, board.known(0, 0), 5),
            "every rank issued it, yet it did not complete (do their tensors differ in size?)");
}

// World ranks 0 and 2 issue the world's #4 and dp {0, 2}'s #2 in opposite
// orders and wait on each other: the report says so rather than going round.
TEST(ArrivalReport, SaysWhenRanksWaitOnEachOther) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(0, 0, 4);  // world #4 first, not yet dp #2
  board.ranks[0].issued[2] = 1;
  board.waits(2, 2, 2);  // dp #2 first, not yet world #4
  board.ranks[2].issued[0] = 3;
  board.waits(1, 0, 4);
  board.waits(3, 0, 4);
  EXPECT_EQ(report(board, board.known(0, 0), 4),
            "rank 2 waits in collective #2 on mpi group of 2 (ranks 0 2 of mpi world (4 ranks)), "
            "where world rank 0 waits in collective #4 on mpi world (4 ranks), which waits on the "
            "above in turn (the ranks wait on each other)");
}

TEST(ArrivalReport, AGroupThisRankDoesNotKnowIsSaidSo) {
  FakeBoard board = FakeBoard::four_ranks();
  board.waits(0, 0, 5);
  board.waits(1, 0, 5);
  board.waits(2, 0, 5);
  board.waits(3, 9, 1);
  board.ranks[3].issued[0] = 4;
  EXPECT_EQ(report(board, board.known(0, 0), 5),
            "rank 3 waits in collective #1 of a group this rank does not know (id 9)");
}

}  // namespace
}  // namespace weft::testing
