#include "model/batch_checks.h"

#include <algorithm>
#include <functional>

#include "weft/backend/flash_attention.h"
#include "weft/tensor/error.h"

namespace weft::detail {
namespace {

// The ids on the host: the tensor itself on CPU, else a copy.
Tensor on_host(const Tensor& ids) {
  return ids.device() == Device::CPU ? ids : ids.to(Device::CPU);
}

}  // namespace

void check_token_ids(const char* field, const Tensor& ids, int64_t vocab, int64_t max_len) {
  WEFT_CHECK(ids.defined() && ids.dtype() == DType::I32 && ids.rank() == 2, "batch.", field,
             " must be an i32 tensor (batch, sequence), got ",
             ids.defined() ? ids.describe() : "nothing");
  WEFT_CHECK(ids.dim(1) >= 1 && ids.dim(1) <= max_len, "batch.", field, " has sequence length ",
             ids.dim(1), " but the model's context (model.max_seq_len) is ", max_len);
  const Tensor host = on_host(ids);
  const int32_t* v = host.data<int32_t>();
  for (int64_t i = 0; i < host.numel(); ++i) {
    WEFT_CHECK(v[i] >= 0 && v[i] < vocab, "batch.", field, " holds token id ", v[i],
               " at position ", i, ", outside the vocabulary [0, ", vocab, ")");
  }
}

void check_targets(const Tensor& target, const Tensor& input, int64_t vocab) {
  WEFT_CHECK(target.defined() && target.dtype() == DType::I32 && target.shape() == input.shape(),
             "batch.target must be i32 of the input's shape ", shape_str(input.shape()), ", got ",
             target.defined() ? target.describe() : "nothing");
  const Tensor host = on_host(target);
  const int32_t* v = host.data<int32_t>();
  for (int64_t i = 0; i < host.numel(); ++i) {
    WEFT_CHECK(v[i] == kIgnoreIndex || (v[i] >= 0 && v[i] < vocab), "batch.target holds ", v[i],
               " at position ", i, ": expected a token id below ", vocab, " or ", kIgnoreIndex,
               " (ignored)");
  }
}

const Tensor& ids_on(const Tensor& ids, Device device, Tensor& staging) {
  if (!ids.defined() || ids.device() == device) return ids;
  Tensor::ensure(staging, ids.shape(), ids.dtype(), device);
  staging.copy_from(ids);
  return staging;
}

const Tensor& key_mask(const Tensor& ids, int32_t pad_id, Tensor& mask) {
  if (pad_id < 0) {
    mask = Tensor();
    return mask;
  }
  const bool on_cpu = ids.device() == Device::CPU;
  thread_local Tensor staging;  // host copy of the mask for a device batch, reused
  Tensor& host_mask = on_cpu ? mask : staging;
  Tensor::ensure(host_mask, ids.shape(), DType::I32, Device::CPU);
  const Tensor host = on_host(ids);
  const int32_t* in = host.data<int32_t>();
  int32_t* out = host_mask.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) out[i] = in[i] != pad_id;
  if (!on_cpu) {
    Tensor::ensure(mask, ids.shape(), DType::I32, ids.device());
    mask.copy_from(staging);
    // Whether every row is ones then zeros with at least one one: the GPU's
    // fused attention then takes the mask as lengths without reading it back.
    bool lengths = ids.rank() == 2 && ids.dim(1) > 0;
    const int64_t rows = lengths ? ids.dim(0) : 0, T = lengths ? ids.dim(1) : 0;
    for (int64_t r = 0; r < rows && lengths; ++r) {
      const int32_t* row = out + r * T;
      lengths = row[0] == 1 && std::is_sorted(row, row + T, std::greater<int32_t>());
    }
    if (ids.rank() == 2) ops::describe_key_mask(mask, lengths);
  }
  return mask;
}

}  // namespace weft::detail
