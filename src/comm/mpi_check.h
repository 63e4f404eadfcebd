#pragma once
// WEFT_MPI_CHECK(call) runs an MPI call and throws weft::Error naming the
// call, MPI's text for the error, the file and the line when it does not
// return MPI_SUCCESS. weft's communicators set MPI_ERRORS_RETURN, so MPI
// reports errors as codes instead of stopping the process itself.

#include <mpi.h>

namespace weft::mpi_detail {
[[noreturn]] void throw_mpi_error(const char* call, int code, const char* file, int line);
}  // namespace weft::mpi_detail

#define WEFT_MPI_CHECK(call)                                                          \
  do {                                                                                \
    const int weft_mpi_code_ = (call);                                                \
    if (weft_mpi_code_ != MPI_SUCCESS) {                                              \
      ::weft::mpi_detail::throw_mpi_error(#call, weft_mpi_code_, __FILE__, __LINE__); \
    }                                                                                 \
  } while (0)
