#pragma once
// NCCL: CUDA tensors across GPUs, one process per GPU. MPI starts the
// processes and hands each group its NCCL id; each process takes the GPU
// (node-local rank % GPUs on the node). Collectives run on a communication
// stream that orders after the legacy default stream; the asynchronous forms
// record an event there, and waiting polls it up to the group's
// CommOptions::timeout_seconds. On expiry the group's NCCL communicator is
// aborted and wait() throws weft::Error naming the collective, its sequence
// number, the group and the rank(s) that did not arrive.
//
// No CUDA, NCCL or MPI header here: the model and training layers include
// this file.

#include <memory>

#include "weft/comm/communicator.h"

namespace weft {

// Whether this weft was built with NCCL (and MPI, which starts its ranks).
bool nccl_available();

// Initialises MPI like make_mpi_world, selects this process's GPU and returns
// the NCCL group of every process of the job. Throws weft::Error when weft
// was built without NCCL or the machine has no GPU.
std::shared_ptr<Communicator> make_nccl_world(CommOptions options = {});

}  // namespace weft
