#include "weft/model/decoder_only.h"

#include "model/batch_checks.h"

namespace weft {

DecoderOnly::DecoderOnly(const ModelConfig& config, const LayerContext& ctx)
    : Model(""),
      config_((config.validate(), config)),
      tokens_("decoder.embed_tokens", config.vocab_size, config, ctx),
      decoder_("decoder", config, tokens_, config.n_layers, /*causal=*/true, /*cross=*/false, ctx),
      head_("lm_head", config, config.tie_embeddings ? &tokens_ : nullptr, ctx),
      tp_(ctx.tp) {
  add_child(tokens_);
  add_child(decoder_);
  add_child(head_);
}

LossSum DecoderOnly::run(const Batch& batch_in, const StepContext& ctx, double grad_scale,
                         bool backward) {
  // Checked where the loader made them, on the host, then copied over.
  detail::check_token_ids("input", batch_in.input, config_.vocab_size, config_.max_seq_len);
  detail::check_targets(batch_in.target, batch_in.input, config_.vocab_size);
  const Device device = tokens_.table().value.device();
  Batch batch;
  batch.input = detail::ids_on(batch_in.input, device, staged_input_);
  batch.target = detail::ids_on(batch_in.target, device, staged_target_);
  const Tensor& valid = detail::key_mask(batch.input, config_.pad_id, valid_);
  const Tensor none;

  // The head reads every row: its vocabulary shard scores all of them.
  const Tensor& hidden =
      decoder_.whole_sequences(decoder_.forward(batch.input, valid, none, none, ctx));
  const double smoothing = ctx.training ? config_.label_smoothing : 0.0;
  if (!backward) {
    return {head_.forward(hidden, batch.target, smoothing, 0.0, nullptr), batch_in.counted_targets()};
  }

  Tensor::ensure(dhidden_, hidden.shape(), hidden.dtype(), hidden.device());
  const LossSum loss{head_.forward(hidden, batch.target, smoothing, grad_scale, &dhidden_),
                     batch_in.counted_targets()};
  Tensor no_memory;
  decoder_.backward(decoder_.own_rows(dhidden_), batch.input, none, no_memory, ctx);
  return loss;
}

}  // namespace weft
