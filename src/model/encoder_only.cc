#include "weft/model/encoder_only.h"

#include <algorithm>

#include "model/batch_checks.h"

namespace weft {

EncoderOnly::EncoderOnly(const ModelConfig& config, const LayerContext& ctx)
    : Model(""),
      config_((config.validate(), config)),
      tokens_("encoder.embed_tokens", config.vocab_size, config, ctx),
      encoder_("encoder", config, tokens_, config.n_layers, /*causal=*/false, /*cross=*/false,
               ctx),
      head_("mlm_head", config, tokens_, ctx) {
  add_child(tokens_);
  add_child(encoder_);
  add_child(head_);
}

const Tensor& EncoderOnly::segments_of(const Tensor& host_ids, Device device) {
  const int64_t B = host_ids.dim(0), T = host_ids.dim(1);
  Tensor::ensure(host_segments_, {B, T}, DType::I32, Device::CPU);
  const int32_t* ids = host_ids.data<int32_t>();
  int32_t* types = host_segments_.data<int32_t>();
  const int64_t last = std::max<int64_t>(0, config_.n_token_types - 1);
  for (int64_t b = 0; b < B; ++b) {
    int64_t seps = 0;
    for (int64_t t = 0; t < T; ++t) {
      types[b * T + t] = static_cast<int32_t>(std::min(seps, last));
      seps += config_.sep_id >= 0 && ids[b * T + t] == config_.sep_id;
    }
  }
  return detail::ids_on(host_segments_, device, segments_);
}

LossSum EncoderOnly::run(const Batch& batch_in, const StepContext& ctx, double grad_scale,
                         bool backward) {
  // Checked where the loader made them, on the host, then copied over.
  detail::check_token_ids("input", batch_in.input, config_.vocab_size, config_.max_seq_len);
  detail::check_targets(batch_in.target, batch_in.input, config_.vocab_size);
  const Device device = tokens_.table().value.device();
  const Tensor host_input =
      batch_in.input.device() == Device::CPU ? batch_in.input : batch_in.input.to(Device::CPU);
  if (config_.n_token_types > 0) encoder_.use_segments(segments_of(host_input, device));
  const Tensor& input = detail::ids_on(batch_in.input, device, staged_input_);
  const Tensor& target = detail::ids_on(batch_in.target, device, staged_target_);
  const Tensor& valid = detail::key_mask(input, config_.pad_id, valid_);
  const Tensor none;

  const Tensor& hidden =
      encoder_.whole_sequences(encoder_.forward(input, valid, none, none, ctx));
  const double smoothing = ctx.training ? config_.label_smoothing : 0.0;
  if (!backward) {
    return {head_.forward(hidden, target, smoothing, 0.0, nullptr), batch_in.counted_targets()};
  }
  Tensor::ensure(dhidden_, hidden.shape(), hidden.dtype(), hidden.device());
  const LossSum loss{head_.forward(hidden, target, smoothing, grad_scale, &dhidden_),
                     batch_in.counted_targets()};
  Tensor no_memory;
  encoder_.backward(encoder_.own_rows(dhidden_), input, none, no_memory, ctx);
  return loss;
}

}  // namespace weft
