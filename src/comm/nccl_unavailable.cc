// Stands in for the NCCL communicator in builds without NCCL (or without the
// MPI that starts its ranks).

#include "weft/comm/nccl.h"
#include "weft/tensor/error.h"

namespace weft {

bool nccl_available() {
  return false;
}

std::shared_ptr<Communicator> make_nccl_world(CommOptions) {
  throw Error(
      "make_nccl_world: this weft was built without NCCL; it needs the CUDA toolkit, NCCL "
      "(nccl.h, libnccl) and MPI at build time");
}

}  // namespace weft
