#pragma once
// The MPI process state the MPI and NCCL communicators share: MPI initialised
// once and finalised at process exit, weft's dtypes and reductions in MPI's
// terms, and waiting for a request with a deadline.

#include <mpi.h>

#include <cstdint>

#include "weft/comm/communicator.h"

namespace weft::mpi_runtime {

// MPI_Init_thread (MPI_THREAD_FUNNELED) on the first call, MPI_Finalize at
// exit. Does neither when someone else initialised MPI first.
void ensure_initialized();
// True once MPI_Finalize has run: destructors then have nothing to free.
bool finalized();
// This process's rank among the job's processes on its machine.
int local_rank();

// A new communicator over the same processes as `comm`, reporting errors as
// codes (MPI_ERRORS_RETURN). Collective over `comm`.
MPI_Comm duplicate(MPI_Comm comm);

MPI_Datatype datatype(DType dtype);          // f32, f64, i32; bf16 as 16-bit words
MPI_Op reduction(ReduceOp op, DType dtype);  // Average sums; the caller divides
// `count` as MPI's int, refusing what does not fit.
int int_count(const char* collective, int64_t count);

// Polls `request` until it completes or `timeout_seconds` pass (<= 0: no
// limit). Returns false on timeout, leaving the request in flight.
bool wait_for(MPI_Request* request, double timeout_seconds);

}  // namespace weft::mpi_runtime
