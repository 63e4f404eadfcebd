#pragma once
// Incremental decoding over a KVCache, for both model families: a batch of
// sequences starts (DecoderOnlyDecoding::prefill, EncoderDecoderDecoding::
// encode) and grows by decode_step, each call running the decoder stack over
// the new positions only and projecting the last one to logits. Inference
// only: no dropout, nothing kept for a backward pass.
//
// A decoding object borrows its model (which must outlive it) and keeps the
// buffers every step reuses: the ids on the model's device, the last
// position's hidden state (B,d) and the logits (B,V). Steps of one shape after
// the first take no new storage for them. A cache never holds more than
// model.max_seq_len positions (or its own smaller capacity): more is refused
// with a weft::Error, and a refused step leaves the cache as it was.

#include "weft/model/decoder_only.h"
#include "weft/model/encoder_decoder.h"
#include "weft/model/kv_cache.h"

namespace weft {

namespace detail {

// The step both families share, and the buffers it reuses.
class CachedDecodeStep {
 public:
  // ids (B,T) i32, on any device, become positions [cache.length(), +T) of
  // the cache's B sequences, run through `decoder` on `device`. Returns the
  // logits (B,V) of the last of them, owned by this object until its next
  // call.
  const Tensor& run(TransformerStack& decoder, OutputHead& head, const ModelConfig& config,
                    Device device, const Tensor& ids, KVCache& cache);

 private:
  Tensor staged_ids_;            // ids copied to the model's device
  Tensor last_hidden_, logits_;  // (B,d), (B,V)
};

}  // namespace detail

// The GPT family: prefill starts new sequences in `cache` with ids (B,T0)
// i32 at positions [0, T0); decode_step appends ids (B,T), usually T = 1, at
// positions [cache.length(), +T). Both return the logits (B,V) of the last
// new position, owned by this object until its next call.
class DecoderOnlyDecoding {
 public:
  explicit DecoderOnlyDecoding(DecoderOnly& model) : model_(model) {}

  const Tensor& prefill(const Tensor& ids, KVCache& cache);
  const Tensor& decode_step(const Tensor& ids, KVCache& cache);

 private:
  DecoderOnly& model_;
  detail::CachedDecodeStep step_;
};

// The 2017 Transformer: encode starts new sequences in `cache` from source
// (B,S) i32 (padding masked when the config has a pad id): the source is
// encoded once and every decoder layer's cross-attention keys and values are
// stored; the target length is 0. decode_step then appends target ids (B,T),
// usually T = 1 starting with BOS, at positions [cache.length(), +T) and
// returns the logits (B,V) of the last, owned by this object until its next
// call.
class EncoderDecoderDecoding {
 public:
  explicit EncoderDecoderDecoding(EncoderDecoder& model) : model_(model) {}

  void encode(const Tensor& source, KVCache& cache);
  const Tensor& decode_step(const Tensor& ids, KVCache& cache);

 private:
  EncoderDecoder& model_;
  detail::CachedDecodeStep step_;
  Tensor staged_source_, source_valid_;  // the source on the model's device, its key mask
};

}  // namespace weft
