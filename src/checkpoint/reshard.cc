// Re-splitting between layouts. Every saved shard and every loading rank's
// tensor is a box in the full tensor's index space; a loader copies the
// intersection of its box with each saved shard's box, one contiguous run of
// the last dimension at a time.

#include <algorithm>
#include <cstring>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/error.h"

namespace weft::checkpoint {

Shape shard_shape(const Shape& full, int dim, int64_t parts) {
  Shape shape = full;
  if (dim >= 0) shape[dim] = full[dim] / parts;
  return shape;
}

Origin shard_origin(const Shape& full, int dim, int64_t index, int64_t parts) {
  Origin origin(full.size(), 0);
  if (dim >= 0) origin[dim] = index * (full[dim] / parts);
  return origin;
}

bool overlaps(const Origin& a, const Shape& a_shape, const Origin& b, const Shape& b_shape) {
  for (size_t d = 0; d < a.size(); ++d) {
    if (std::max(a[d], b[d]) >= std::min(a[d] + a_shape[d], b[d] + b_shape[d])) return false;
  }
  return true;
}

void copy_overlap(const Tensor& src, const Origin& src_origin, Tensor& dst,
                  const Origin& dst_origin) {
  WEFT_CHECK(src.dtype() == dst.dtype() && src.device() == Device::CPU &&
                 dst.device() == Device::CPU && src.rank() == dst.rank(),
             "copy_overlap: ", src.describe(), " into ", dst.describe());
  const Shape& ss = src.shape();
  const Shape& ds = dst.shape();
  const size_t rank = ss.size();
  if (rank == 0) {
    std::memcpy(dst.raw(), src.raw(), src.nbytes());
    return;
  }
  // The intersection, in full-tensor indices: [lo[d], hi[d]).
  Origin lo(rank), hi(rank);
  for (size_t d = 0; d < rank; ++d) {
    lo[d] = std::max(src_origin[d], dst_origin[d]);
    hi[d] = std::min(src_origin[d] + ss[d], dst_origin[d] + ds[d]);
    if (lo[d] >= hi[d]) return;
  }
  const size_t element = dtype_size(src.dtype());
  const size_t run_bytes = static_cast<size_t>(hi[rank - 1] - lo[rank - 1]) * element;
  const auto* from = static_cast<const char*>(src.raw());
  auto* to = static_cast<char*>(dst.raw());
  // An odometer over every dimension but the last, which is one memcpy.
  Origin at = lo;
  for (;;) {
    int64_t s = 0, t = 0;
    for (size_t d = 0; d < rank; ++d) {
      s = s * ss[d] + (at[d] - src_origin[d]);
      t = t * ds[d] + (at[d] - dst_origin[d]);
    }
    std::memcpy(to + t * element, from + s * element, run_bytes);
    size_t d = rank - 1;
    while (d > 0 && ++at[d - 1] == hi[d - 1]) {
      at[d - 1] = lo[d - 1];
      --d;
    }
    if (d == 0) return;
  }
}

}  // namespace weft::checkpoint
