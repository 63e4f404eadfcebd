#include "weft/data/batch.h"

#include "weft/tensor/error.h"

namespace weft {

int64_t count_targets(const Tensor& target) {
  if (!target.defined()) return 0;
  const Tensor host = target.device() == Device::CPU ? target : target.to(Device::CPU);
  const int32_t* t = host.data<int32_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < host.numel(); ++i) count += t[i] != kIgnoreIndex ? 1 : 0;
  return count;
}

int64_t BatchStream::batches_in_epochs(int64_t epochs) const {
  (void)epochs;
  throw Error("train.epochs: this batch stream has no epochs; set train.steps instead");
}

}  // namespace weft
