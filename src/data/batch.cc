#include "weft/data/batch.h"

namespace weft {

int64_t count_targets(const Tensor& target) {
  if (!target.defined()) return 0;
  const Tensor host = target.device() == Device::CPU ? target : target.to(Device::CPU);
  const int32_t* t = host.data<int32_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < host.numel(); ++i) count += t[i] != kIgnoreIndex ? 1 : 0;
  return count;
}

}  // namespace weft
