// Stands in for the MPI communicator in builds without MPI.

#include "weft/comm/mpi.h"
#include "weft/tensor/error.h"

namespace weft {

namespace {
[[noreturn]] void refuse(const char* what) {
  throw Error(
      detail::concat(what,
                     ": this weft was built without MPI; install an MPI (e.g. libopenmpi-dev) and "
                     "rebuild, or run on one process or with simulated ranks"));
}
}  // namespace

std::shared_ptr<Communicator> make_mpi_world(CommOptions) {
  refuse("make_mpi_world");
}
int mpi_local_rank() {
  refuse("mpi_local_rank");
}

}  // namespace weft
