#include "model/incremental.h"

#include "model/batch_checks.h"
#include "weft/tensor/error.h"

namespace weft::detail {

KVCacheLayout cache_layout(const ModelConfig& config, int64_t layers, int64_t batch, int tp_size,
                           const Tensor& like) {
  KVCacheLayout l;
  l.batch = batch;
  l.layers = layers;
  l.heads_local = config.n_heads / tp_size;
  l.head_dim = config.head_dim();
  l.max_seq_len = config.max_seq_len;
  l.masked = config.pad_id >= 0;
  l.dtype = like.dtype();
  l.device = like.device();
  return l;
}

const Tensor& decode_positions(TransformerStack& stack, OutputHead& head,
                               const ModelConfig& config, const Tensor& ids, KVCache& cache,
                               Tensor& last, Tensor& logits) {
  WEFT_CHECK(ids.defined() && ids.dtype() == DType::I32 && ids.rank() == 2 && ids.dim(1) >= 1,
             "decoding: ids must be an i32 tensor (batch, positions) with at least one position, ",
             "got ", ids.defined() ? ids.describe() : "nothing");
  const int64_t B = ids.dim(0), T = ids.dim(1);
  cache.check_room(T);
  WEFT_CHECK(B == cache.batch(), "decoding: ids hold ", B, " sequences but the cache holds ",
             cache.batch());
  check_token_ids("input", ids, config.vocab_size, config.max_seq_len);

  cache.mark_keys(ids, config.pad_id);
  const Tensor& hidden = stack.forward_cached(ids, cache);
  cache.advance(T);

  const int64_t d = hidden.dim(2);
  if (T == 1) {
    head.project(hidden.view({B, d}), logits);
    return logits;
  }
  Tensor::ensure(last, {B, d}, hidden.dtype(), hidden.device());
  for (int64_t b = 0; b < B; ++b) {  // row b's last position
    Tensor dst = last.rows(b, b + 1);
    dst.copy_from(hidden.rows(b, b + 1).view({T, d}).rows(T - 1, T));
  }
  head.project(last, logits);
  return logits;
}

}  // namespace weft::detail
