// Whether an MPI launcher started this process: read from the environment,
// so it works before MPI is initialised and in builds without MPI.

#include <cstdlib>
#include <string>

#include "weft/comm/mpi.h"

namespace weft {

bool launched_by_mpi() {
  // World sizes as Open MPI, MPICH/Intel MPI (Hydra, PMI-1/2), MVAPICH and
  // Slurm's srun export them.
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value) > 1;
  }
  // A PMIx or PMI server without a size in the environment (srun --mpi=pmix).
  return std::getenv("PMIX_RANK") != nullptr || std::getenv("PMI_RANK") != nullptr;
}

}  // namespace weft
