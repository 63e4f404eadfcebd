#include "cli/bench_run.h"

#include "weft/model/factory.h"

namespace weft::cli {

SyntheticTokens::SyntheticTokens(const ModelConfig& config, int64_t batch, int64_t seq,
                                 Device device)
    : config_(config), batch_(batch), seq_(seq), device_(device) {}

Batch SyntheticTokens::next() {
  Batch b;
  b.input = random_ids(config_.vocab_size);
  b.target = random_ids(config_.vocab_size);
  if (config_.architecture == Architecture::EncoderDecoder) {
    b.source = random_ids(config_.encoder_vocab_size());
  }
  return b;
}

Tensor SyntheticTokens::random_ids(int64_t vocab) {
  Tensor t = Tensor::empty({batch_, seq_}, DType::I32);
  int32_t* p = t.data<int32_t>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = static_cast<int32_t>((state_ >> 33) % static_cast<uint64_t>(vocab));
  }
  return device_ == Device::CPU ? t : t.to(device_);
}

namespace {

std::unique_ptr<Model> initialised_model(const ModelConfig& config, const LayerContext& ctx) {
  auto model = make_model(config, ctx);
  initialize_parameters(model->parameters(), 1);
  return model;
}

TrainerOptions with_recompute(Recompute recompute) {
  TrainerOptions options;
  options.recompute = recompute;
  return options;
}

}  // namespace

BenchRun::BenchRun(const ModelConfig& config, const LayerContext& ctx, int64_t batch, int64_t seq,
                   Recompute recompute)
    : model_(initialised_model(config, ctx)),
      optimizer_(model_->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1}),
      schedule_(1e-4),
      trainer_(*model_, optimizer_, schedule_, with_recompute(recompute)),
      data_(config, batch, seq, ctx.device) {}

}  // namespace weft::cli
