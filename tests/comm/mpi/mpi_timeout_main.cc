// Run as `mpirun -n 2 mpi_timeout_check [world|split]`: one rank skips the
// second collective of a group, and the other must time out (1.5 s), print
// one line naming the collective, its number, the group and the missing
// rank, and abort the job. ctest passes on that line; a hang runs into its
// timeout instead.
//
// world: rank 1 of the world is missing. split: in the world reversed
// (group rank = 1 − world rank), world rank 0, i.e. group rank 1, is missing.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "weft/comm/mpi.h"

int main(int argc, char** argv) {
  using namespace weft;
  const bool split = argc > 1 && std::strcmp(argv[1], "split") == 0;
  std::shared_ptr<Communicator> world = make_mpi_world(CommOptions{/*timeout_seconds=*/1.5});
  if (world->size() != 2) {
    std::printf("mpi_timeout_check: needs exactly 2 MPI processes, the world has %d\n",
                world->size());
    return 1;
  }
  std::shared_ptr<Communicator> group = split ? world->split(0, -world->rank()) : world;
  group->barrier();  // collective #1, which everyone issues
  if (group->rank() == 1) {
    // Never issues #2; stopped by the other rank's MPI_Abort long before this ends.
    std::this_thread::sleep_for(std::chrono::seconds(30));
    return 0;
  }
  Tensor t = Tensor::zeros({7});
  group->all_reduce_async(t)->wait();
  std::printf("mpi_timeout_check: all_reduce #2 completed without rank 1\n");
  return 1;
}
