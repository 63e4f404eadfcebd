#include "weft/model/tensor_parallel.h"

#include "weft/tensor/error.h"

namespace weft {

const Tensor& copy_to_tensor_parallel_region_forward(Communicator&, const Tensor& x) {
  return x;
}

void copy_to_tensor_parallel_region_backward(Communicator& group, Tensor& dx) {
  if (group.size() > 1) group.all_reduce(dx, ReduceOp::Sum);
}

void reduce_from_tensor_parallel_region_forward(Communicator& group, Tensor& y) {
  if (group.size() > 1) group.all_reduce(y, ReduceOp::Sum);
}

const Tensor& reduce_from_tensor_parallel_region_backward(Communicator&, const Tensor& dy) {
  return dy;
}

void gather_from_tensor_parallel_region_forward(Communicator& group, const Tensor& local,
                                                Tensor& staging, Tensor& out) {
  WEFT_CHECK(local.rank() == 2, "gather_from_tensor_parallel_region: expected local (N,C), ",
             "got ", local.describe());
  const int64_t shards = group.size(), N = local.dim(0), C = local.dim(1);
  Tensor::ensure(out, {N, C * shards}, local.dtype(), local.device());
  if (shards == 1) {
    out.copy_from(local);
    return;
  }
  Tensor::ensure(staging, {shards, N, C}, local.dtype(), local.device());
  group.all_gather(local, staging);
  for (int64_t k = 0; k < shards; ++k) {
    for (int64_t n = 0; n < N; ++n) {
      Tensor dst = out.rows(n, n + 1).view({shards, C}).rows(k, k + 1);
      dst.copy_from(staging.rows(k, k + 1).view({N, C}).rows(n, n + 1));
    }
  }
}

}  // namespace weft
