#include "weft/comm/process_groups.h"

#include "weft/tensor/error.h"

namespace weft {

ProcessGroups make_process_groups(std::shared_ptr<Communicator> world, int tp) {
  const int n = world->size();
  WEFT_CHECK(tp >= 1, "parallel.tp must be at least 1, got ", tp);
  WEFT_CHECK(n % tp == 0, "parallel.tp = ", tp, " does not divide the world of ", n,
             " ranks (dp = world / tp must be whole)");
  const int r = world->rank();
  ProcessGroups g;
  g.world = world;
  g.tp = with_wait_clock(world->split(/*color=*/r / tp, /*key=*/r % tp), g.wait);
  g.dp = with_wait_clock(world->split(/*color=*/r % tp, /*key=*/r / tp), g.wait);
  return g;
}

ProcessGroups single_rank_groups() {
  ProcessGroups g;
  g.world = make_single_rank_communicator();
  g.tp = make_single_rank_communicator();
  g.dp = make_single_rank_communicator();
  return g;
}

}  // namespace weft
