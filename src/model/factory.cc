#include "weft/model/factory.h"

#include "weft/model/decoder_only.h"
#include "weft/model/encoder_decoder.h"
#include "weft/model/encoder_only.h"

namespace weft {

std::unique_ptr<Model> make_model(const ModelConfig& config, const LayerContext& ctx) {
  if (config.architecture == Architecture::EncoderDecoder) {
    return std::make_unique<EncoderDecoder>(config, ctx);
  }
  if (config.architecture == Architecture::EncoderOnly) {
    return std::make_unique<EncoderOnly>(config, ctx);
  }
  return std::make_unique<DecoderOnly>(config, ctx);
}

}  // namespace weft
