#include "weft/backend/gather_rows.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void gather_rows(const Tensor& src, const Tensor& index, Tensor& dst) {
  const char* op = "gather_rows";
  WEFT_CHECK(src.defined() && src.rank() >= 1, op, ": src must have at least one dimension, got ",
             src.defined() ? src.describe() : "nothing");
  detail::check_ids(op, "index", index);
  WEFT_CHECK(index.rank() == 1, op, ": index must be (M), got ", index.describe());
  detail::check_device(op, "index", index, src.device());
  Shape shape = src.shape();
  shape[0] = index.dim(0);
  detail::check_shape(op, "dst", dst, shape);
  WEFT_CHECK(dst.dtype() == src.dtype(), op, ": dst must have src's dtype ",
             dtype_name(src.dtype()), ", got ", dst.describe());
  detail::check_device(op, "dst", dst, src.device());
  WEFT_CHECK(dst.numel() == 0 || !detail::overlaps(src, dst), op,
             ": dst overlaps src; gather into a separate buffer and swap");
  if (index.numel() > 0) {
    const Tensor host = index.device() == Device::CPU ? index : index.to(Device::CPU);
    const int32_t* ids = host.data<int32_t>();
    for (int64_t m = 0; m < host.numel(); ++m) {
      WEFT_CHECK(ids[m] >= 0 && ids[m] < src.dim(0), op, ": index[", m, "] = ", ids[m],
                 " is outside src's ", src.dim(0), " rows");
    }
  }
  WEFT_DISPATCH(src.device(), gather_rows, src, index, dst);
}

}  // namespace weft::ops
