#include "mpi_runtime.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "mpi_check.h"
#include "polling.h"
#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"

namespace weft {
namespace mpi_detail {

void throw_mpi_error(const char* call, int code, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(
      detail::concat(call, " failed: ", std::string(text, length), " (MPI error ", code, ")"),
      detail::concat(file, ":", line));
}

}  // namespace mpi_detail

namespace mpi_runtime {
namespace {

void finalize_at_exit() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

}  // namespace

void ensure_initialized() {
  int initialized = 0;
  WEFT_MPI_CHECK(MPI_Initialized(&initialized));
  int provided = 0;
  if (initialized) {
    WEFT_MPI_CHECK(MPI_Query_thread(&provided));
  } else {
    WEFT_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    std::atexit(finalize_at_exit);
  }
  WEFT_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI provides thread level ", provided,
             "; weft needs at least MPI_THREAD_FUNNELED (", MPI_THREAD_FUNNELED, ")");
}

bool finalized() {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

int local_rank() {
  static int cached = -1;
  if (cached >= 0) return cached;
  ensure_initialized();
  MPI_Comm node = MPI_COMM_NULL;
  WEFT_MPI_CHECK(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int rank = 0;
  WEFT_MPI_CHECK(MPI_Comm_rank(node, &rank));
  WEFT_MPI_CHECK(MPI_Comm_free(&node));
  cached = rank;
  return cached;
}

MPI_Comm duplicate(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  WEFT_MPI_CHECK(MPI_Comm_dup(comm, &copy));
  WEFT_MPI_CHECK(MPI_Comm_set_errhandler(copy, MPI_ERRORS_RETURN));
  return copy;
}

MPI_Datatype datatype(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return MPI_FLOAT;
    case DType::F64:
      return MPI_DOUBLE;
    case DType::I32:
      return MPI_INT32_T;
    case DType::BF16:
      return MPI_UINT16_T;  // bits only: reduced by the operations below
  }
  throw Error(detail::concat("mpi: no MPI reduction for ", dtype_name(dtype)));
}

namespace {

// bf16 has no MPI type: its elements travel as 16-bit words and are reduced
// by user-defined operations that widen to f32 and round once.
void bf16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = float_to_bf16(bf16_to_float(a[i]) + bf16_to_float(b[i]));
}

void bf16_max(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    b[i] = float_to_bf16(std::max(bf16_to_float(a[i]), bf16_to_float(b[i])));
  }
}

MPI_Op created(MPI_User_function* fn) {
  MPI_Op op = MPI_OP_NULL;
  WEFT_MPI_CHECK(MPI_Op_create(fn, /*commute=*/1, &op));
  return op;
}

}  // namespace

MPI_Op reduction(ReduceOp op, DType dtype) {
  if (dtype == DType::BF16) {
    static const MPI_Op sum = created(bf16_sum), max = created(bf16_max);  // after MPI_Init
    return op == ReduceOp::Max ? max : sum;
  }
  return op == ReduceOp::Max ? MPI_MAX : MPI_SUM;
}

int int_count(const char* collective, int64_t count) {
  WEFT_CHECK(count <= INT_MAX, collective, ": ", count,
             " elements is more than one MPI call takes (", INT_MAX, "); split the tensor");
  return static_cast<int>(count);
}

bool wait_for(MPI_Request* request, double timeout_seconds) {
  // Each MPI_Test also moves the collective on.
  return poll_until(timeout_seconds, [request] {
    int done = 0;
    WEFT_MPI_CHECK(MPI_Test(request, &done, MPI_STATUS_IGNORE));
    return done != 0;
  });
}

}  // namespace mpi_runtime
}  // namespace weft
