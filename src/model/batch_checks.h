#pragma once
// Refusals of malformed batches, shared by both model families: each names
// the batch field and what was expected.

#include "weft/model/model.h"

namespace weft::detail {

// ids (B,T) i32 with every id in [0, vocab) and T <= max_len.
void check_token_ids(const char* field, const Tensor& ids, int64_t vocab, int64_t max_len);
// target (B,T) i32 matching input, ids in [0, vocab) or kIgnoreIndex.
void check_targets(const Tensor& target, const Tensor& input, int64_t vocab);
// `ids` on `device`: itself when already there, else a copy in `staging`
// (whose storage is reused from call to call). Batches come from the data
// loader in host memory; the model copies them to its own device.
const Tensor& ids_on(const Tensor& ids, Device device, Tensor& staging);
// Fills `mask` (B,T) i32 with 1 where ids != pad_id, reusing its storage;
// leaves it undefined when pad_id < 0 (no padding). Returns mask.
const Tensor& key_mask(const Tensor& ids, int32_t pad_id, Tensor& mask);

}  // namespace weft::detail
