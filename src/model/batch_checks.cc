#include "model/batch_checks.h"

#include "weft/tensor/error.h"

namespace weft::detail {

void check_token_ids(const char* field, const Tensor& ids, int64_t vocab, int64_t max_len) {
  WEFT_CHECK(ids.defined() && ids.dtype() == DType::I32 && ids.rank() == 2, "batch.", field,
             " must be an i32 tensor (batch, sequence), got ",
             ids.defined() ? ids.describe() : "nothing");
  WEFT_CHECK(ids.dim(1) >= 1 && ids.dim(1) <= max_len, "batch.", field, " has sequence length ",
             ids.dim(1), " but the model's context (model.max_seq_len) is ", max_len);
  const std::vector<double> values = ids.to_double_vector();
  for (size_t i = 0; i < values.size(); ++i) {
    WEFT_CHECK(values[i] >= 0 && values[i] < static_cast<double>(vocab), "batch.", field,
               " holds token id ", values[i], " at position ", i, ", outside the vocabulary [0, ",
               vocab, ")");
  }
}

void check_targets(const Tensor& target, const Tensor& input, int64_t vocab) {
  WEFT_CHECK(target.defined() && target.dtype() == DType::I32 && target.shape() == input.shape(),
             "batch.target must be i32 of the input's shape ", shape_str(input.shape()), ", got ",
             target.defined() ? target.describe() : "nothing");
  const std::vector<double> values = target.to_double_vector();
  for (size_t i = 0; i < values.size(); ++i) {
    WEFT_CHECK(values[i] == kIgnoreIndex || (values[i] >= 0 && values[i] < vocab),
               "batch.target holds ", values[i], " at position ", i,
               ": expected a token id below ", vocab, " or ", kIgnoreIndex, " (ignored)");
  }
}

Tensor key_mask(const Tensor& ids, int32_t pad_id) {
  if (pad_id < 0) return Tensor();
  Tensor host = ids.device() == Device::CPU ? ids : ids.to(Device::CPU);
  Tensor mask = Tensor::empty(ids.shape(), DType::I32, Device::CPU);
  const int32_t* in = host.data<int32_t>();
  int32_t* out = mask.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) out[i] = in[i] != pad_id;
  return ids.device() == Device::CPU ? mask : mask.to(ids.device());
}

}  // namespace weft::detail
