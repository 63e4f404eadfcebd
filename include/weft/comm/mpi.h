#pragma once
// MPI: CPU tensors across processes and machines, one process per rank,
// started by mpirun, mpiexec or srun. Every collective is one of MPI's
// non-blocking ones (MPI_Iallreduce, ...); the blocking forms wait at once.
// Waiting polls up to the group's CommOptions::timeout_seconds; on expiry one
// rank reports for the job: one line naming the collective, its sequence
// number, the group, itself and the rank(s) that did not arrive (following a
// rank that waits in another group to the rank that holds it up), while the
// other ranks that timed out say which rank reports. Then MPI_Abort stops the
// whole job rather than let it hang.
//
// A collective's timeout runs from when its rank starts waiting for it; MPI
// moves collectives on only inside MPI calls, so issuing one also tests those
// before it. Sums are MPI's: the same bits on every rank, though not
// necessarily in rank order.
//
// All MPI calls come from each process's main thread (MPI_THREAD_FUNNELED).
// No MPI header here: the model and training layers include this file.

#include <memory>

#include "weft/comm/communicator.h"

namespace weft {

// True when an MPI launcher started this process in a world of more than one
// process, as its environment says (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
// PMIX_RANK, ...). Needs neither MPI initialised nor weft built with MPI.
bool launched_by_mpi();

// Initialises MPI on the first call (it is finalised at process exit) and
// returns the group of every process of the job. Throws weft::Error when
// weft was built without MPI.
std::shared_ptr<Communicator> make_mpi_world(CommOptions options = {});

// This process's rank among the job's processes on its machine, e.g. to pick
// a GPU. Initialises MPI like make_mpi_world; the first call is collective
// (every process of the job makes it).
int mpi_local_rank();

}  // namespace weft
