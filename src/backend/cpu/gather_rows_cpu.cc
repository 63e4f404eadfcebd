// Row gather as byte copies: the dtype only sets the row's size, so one
// kernel serves every dtype. Rows are independent, so threads split them.
//
//   src (N, C...)   index (M)   dst (M, C...)

#include <cstring>

#include "backend/cpu/cpu_common.h"
#include "backend/kernels.h"

namespace weft::cpu {

void gather_rows(const Tensor& src, const Tensor& index, Tensor& dst) {
  const int64_t m = dst.dim(0);
  if (m == 0) return;
  const int64_t row_elements = dst.numel() / m;
  const size_t row_bytes = static_cast<size_t>(row_elements) * dtype_size(dst.dtype());
  const char* in = static_cast<const char*>(src.raw());
  char* out = static_cast<char*>(dst.raw());
  const int32_t* ids = index.data<int32_t>();
#pragma omp parallel for if (dst.numel() >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < m; ++r) {
    std::memcpy(out + r * row_bytes, in + static_cast<size_t>(ids[r]) * row_bytes, row_bytes);
  }
}

}  // namespace weft::cpu
