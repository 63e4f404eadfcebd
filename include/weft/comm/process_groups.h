#pragma once
// The parallel layout: world = dp × tp. Rank r has tp_rank = r % tp and
// dp_rank = r / tp, so the ranks of one tensor-parallel group are neighbours
// (one node, fast links) and data-parallel groups stride across nodes.

#include <memory>

#include "weft/comm/communicator.h"
#include "weft/comm/timed.h"

namespace weft {

struct ProcessGroups {
  std::shared_ptr<Communicator> world;
  std::shared_ptr<Communicator> tp;  // ranks [d·tp, (d+1)·tp): one model replica
  std::shared_ptr<Communicator> dp;  // ranks t, t+tp, t+2·tp, ...: one shard, every replica
  // Time this rank has waited in tp and dp collectives.
  std::shared_ptr<WaitClock> wait = std::make_shared<WaitClock>();

  int tp_size() const { return tp->size(); }
  int dp_size() const { return dp->size(); }
  int tp_rank() const { return tp->rank(); }
  int dp_rank() const { return dp->rank(); }
  bool is_root() const { return world->rank() == 0; }
};

// Splits `world` (collective: every rank calls it). Throws weft::Error naming
// the numbers when tp < 1 or the world size is not divisible by tp.
ProcessGroups make_process_groups(std::shared_ptr<Communicator> world, int tp);

// One rank, one replica: every group is the single rank.
ProcessGroups single_rank_groups();

}  // namespace weft
