#include "weft/model/encoder_decoder.h"

#include "model/batch_checks.h"
#include "weft/model/tensor_parallel.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

std::unique_ptr<TokenEmbedding> separate_source_tokens(const ModelConfig& c,
                                                       const LayerContext& ctx) {
  if (c.shared_vocabulary()) return nullptr;
  return std::make_unique<TokenEmbedding>("encoder.embed_tokens", c.source_vocab_size, c, ctx);
}

}  // namespace

EncoderDecoder::EncoderDecoder(const ModelConfig& config, const LayerContext& ctx)
    : Model(""),
      config_((config.validate(), config)),
      tp_(ctx.tp),
      target_tokens_("decoder.embed_tokens", config.vocab_size, config, ctx),
      source_tokens_(separate_source_tokens(config, ctx)),
      encoder_("encoder", config, source_tokens(), config.n_encoder_layers, /*causal=*/false,
               /*cross=*/false, ctx),
      decoder_("decoder", config, target_tokens_, config.n_layers, /*causal=*/true,
               /*cross=*/true, ctx),
      head_("lm_head", config, config.tie_embeddings ? &target_tokens_ : nullptr, ctx) {
  if (source_tokens_) add_child(*source_tokens_);
  add_child(target_tokens_);
  add_child(encoder_);
  add_child(decoder_);
  add_child(head_);
}

LossSum EncoderDecoder::run(const Batch& batch_in, const StepContext& ctx, double grad_scale,
                            bool backward) {
  // Checked where the loader made them, on the host, then copied over.
  detail::check_token_ids("source", batch_in.source, config_.encoder_vocab_size(),
                          config_.max_seq_len);
  detail::check_token_ids("input", batch_in.input, config_.vocab_size, config_.max_seq_len);
  detail::check_targets(batch_in.target, batch_in.input, config_.vocab_size);
  WEFT_CHECK(batch_in.source.dim(0) == batch_in.input.dim(0), "batch.source has ",
             batch_in.source.dim(0), " sequences but batch.input has ", batch_in.input.dim(0));
  const Device device = target_tokens_.table().value.device();
  Batch batch;
  batch.source = detail::ids_on(batch_in.source, device, staged_source_);
  batch.input = detail::ids_on(batch_in.input, device, staged_input_);
  batch.target = detail::ids_on(batch_in.target, device, staged_target_);
  const Tensor& source_valid = detail::key_mask(batch.source, config_.pad_id, source_valid_);
  const Tensor& target_valid = detail::key_mask(batch.input, config_.pad_id, target_valid_);
  const Tensor none;

  // Sequence parallel: the memory is gathered once per step, and every
  // decoder layer's cross-attention reads it.
  const Tensor& memory =
      encoder_.whole_sequences(encoder_.forward(batch.source, source_valid, none, none, ctx));
  const Tensor& hidden = decoder_.whole_sequences(
      decoder_.forward(batch.input, target_valid, memory, source_valid, ctx));
  const double smoothing = ctx.training ? config_.label_smoothing : 0.0;
  if (!backward) {
    return {head_.forward(hidden, batch.target, smoothing, 0.0, nullptr), batch_in.counted_targets()};
  }

  Tensor::ensure(dhidden_, hidden.shape(), hidden.dtype(), hidden.device());
  const LossSum loss{head_.forward(hidden, batch.target, smoothing, grad_scale, &dhidden_),
                     batch_in.counted_targets()};
  Tensor::ensure(dmemory_, memory.shape(), memory.dtype(), memory.device());
  dmemory_.zero();
  decoder_.backward(decoder_.own_rows(dhidden_), batch.input, memory, dmemory_, ctx);
  // The encoder output enters every decoder layer's cross-attention through
  // its column-parallel k and v; they left their parts in dmemory_, which f's
  // backward sums over the group once for all layers (sequence parallel:
  // reduce-scatters into the encoder's rows).
  Tensor no_memory;
  if (!encoder_.split_rows()) copy_to_tensor_parallel_region_backward(*tp_, dmemory_);
  encoder_.backward(encoder_.own_rows(dmemory_), batch.source, none, no_memory, ctx);
  return loss;
}

}  // namespace weft
