// The row gather of beam search on the GPU: a byte copy, so the CPU's bits
// exactly.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/gather_rows.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

class GatherRowsGpu : public GpuTest {};

// A byte copy: the GPU must give the CPU's bits for every dtype.
TEST_F(GatherRowsGpu, SameBitsAsTheCpu) {
  Seeds seeds;
  for (DType dtype : {DType::F32, DType::BF16, DType::I32}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Shape src_shape = {11, 3, 37};
    const Tensor host_src = dtype == DType::I32 ? random_ids(src_shape, 1000, seeds.next())
                                                : random_tensor(src_shape, dtype, seeds.next());
    const Tensor index = random_ids({23}, 11, seeds.next());  // repeats rows
    Tensor dst_ref = Tensor::empty({23, 3, 37}, dtype);
    ops::gather_rows(host_src, index, dst_ref);
    Tensor dst = poisoned({23, 3, 37}, dtype);
    ops::gather_rows(host_src.to(Device::CUDA), index.to(Device::CUDA), dst);
    EXPECT_TRUE(same_bits("gather_rows", "dst", dst, dst_ref));
  }
}

}  // namespace
}  // namespace weft::testing
