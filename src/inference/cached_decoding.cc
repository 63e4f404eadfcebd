#include "weft/inference/cached_decoding.h"

#include "model/batch_checks.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// The cache layout of `batch` sequences through a stack of `layers` blocks
// whose tensors are like `like` (dtype, device), heads split over `tp_size`
// ranks as the attention splits them: only the key/value heads are cached.
KVCacheLayout cache_layout(const ModelConfig& config, int64_t layers, int64_t batch, int tp_size,
                           const Tensor& like) {
  KVCacheLayout l;
  l.batch = batch;
  l.layers = layers;
  l.heads_local = config.kv_heads() / tp_size;
  l.head_dim = config.head_dim();
  l.max_seq_len = config.max_seq_len;
  l.masked = config.pad_id >= 0;
  l.dtype = like.dtype();
  l.device = like.device();
  return l;
}

}  // namespace

namespace detail {

const Tensor& CachedDecodeStep::run(TransformerStack& decoder, OutputHead& head,
                                    const ModelConfig& config, Device device, const Tensor& ids_in,
                                    KVCache& cache) {
  const Tensor& ids = ids_on(ids_in, device, staged_ids_);
  WEFT_CHECK(ids.defined() && ids.dtype() == DType::I32 && ids.rank() == 2 && ids.dim(1) >= 1,
             "decoding: ids must be an i32 tensor (batch, positions) with at least one position, ",
             "got ", ids.defined() ? ids.describe() : "nothing");
  const int64_t B = ids.dim(0), T = ids.dim(1);
  cache.check_room(T);
  WEFT_CHECK(B == cache.batch(), "decoding: ids hold ", B, " sequences but the cache holds ",
             cache.batch());
  check_token_ids("input", ids, config.vocab_size, config.max_seq_len);

  cache.mark_keys(ids, config.pad_id);
  const Tensor& hidden = decoder.forward_cached(ids, cache);
  cache.advance(T);

  const int64_t d = hidden.dim(2);
  if (T == 1) {
    head.project(hidden.view({B, d}), logits_);
    return logits_;
  }
  Tensor::ensure(last_hidden_, {B, d}, hidden.dtype(), hidden.device());
  for (int64_t b = 0; b < B; ++b) {  // row b's last position
    Tensor dst = last_hidden_.rows(b, b + 1);
    dst.copy_from(hidden.rows(b, b + 1).view({T, d}).rows(T - 1, T));
  }
  head.project(last_hidden_, logits_);
  return logits_;
}

}  // namespace detail

const Tensor& DecoderOnlyDecoding::prefill(const Tensor& ids, KVCache& cache) {
  WEFT_CHECK(ids.defined() && ids.rank() == 2, "prefill: ids must be (batch, positions), got ",
             ids.defined() ? ids.describe() : "nothing");
  const Tensor& table = model_.tokens().table().value;
  cache.reset(cache_layout(model_.config(), model_.decoder().layers(), ids.dim(0),
                           model_.tp().size(), table));
  return decode_step(ids, cache);
}

const Tensor& DecoderOnlyDecoding::decode_step(const Tensor& ids, KVCache& cache) {
  WEFT_CHECK(!cache.has_memory(), "decode_step: this cache holds an encoder's output; a ",
             "decoder-only model starts its own with prefill");
  return step_.run(model_.decoder(), model_.head(), model_.config(),
                   model_.tokens().table().value.device(), ids, cache);
}

void EncoderDecoderDecoding::encode(const Tensor& source_in, KVCache& cache) {
  const ModelConfig& config = model_.config();
  detail::check_token_ids("source", source_in, config.encoder_vocab_size(), config.max_seq_len);
  const Tensor& source =
      detail::ids_on(source_in, model_.target_tokens().table().value.device(), staged_source_);
  const Tensor& source_valid = detail::key_mask(source, config.pad_id, source_valid_);
  const Tensor none;
  const Tensor& memory = model_.encoder().forward(source, source_valid, none, none, StepContext{});
  TransformerStack& decoder = model_.decoder();
  cache.reset(cache_layout(config, decoder.layers(), source.dim(0), model_.tp().size(), memory));
  decoder.project_memory(memory, cache);
  if (source_valid.defined()) {  // the cache's own copy: reorder permutes it
    Tensor& valid = cache.memory_valid();
    Tensor::ensure(valid, source_valid.shape(), DType::I32, source_valid.device());
    valid.copy_from(source_valid);
  }
  cache.set_memory();
}

const Tensor& EncoderDecoderDecoding::decode_step(const Tensor& ids, KVCache& cache) {
  WEFT_CHECK(cache.has_memory(), "decode_step: the cache holds no encoded source; call encode ",
             "first");
  return step_.run(model_.decoder(), model_.head(), model_.config(),
                   model_.target_tokens().table().value.device(), ids, cache);
}

}  // namespace weft
