#pragma once
// A model small enough to check by hand, so the trainer's tests do not depend
// on the transformer code: logits = W·onehot(input) + b over a vocabulary of
// V tokens, cross-entropy to the target, gradient written out with plain
// loops on the host. W (V,V) decays; b (V) does not, like a real bias.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "weft/model/model.h"

namespace weft::testing {

class SoftmaxRegression : public Model {
 public:
  explicit SoftmaxRegression(int64_t vocab) : Model("softmax") {
    config_.vocab_size = vocab;
    const LayerContext ctx;
    weight_ = &add_parameter("weight", {vocab, vocab}, ctx, Init::Zeros);
    bias_ = &add_parameter("bias", {vocab}, ctx, Init::Zeros, 0.0, /*weight_decay=*/false);
    // Fixed, asymmetric start so that every entry has its own gradient.
    float* w = weight_->value.data<float>();
    for (int64_t i = 0; i < vocab * vocab; ++i) w[i] = 0.3f * std::sin(1.7f * i + 0.4f);
    float* b = bias_->value.data<float>();
    for (int64_t i = 0; i < vocab; ++i) b[i] = 0.1f * std::cos(0.9f * i);
  }

  const Tensor& logits() const override { return logits_; }
  const ModelConfig& config() const override { return config_; }

  Parameter& weight() { return *weight_; }
  Parameter& bias() { return *bias_; }

  // Test hooks: poison the loss or one gradient entry; record every context seen.
  bool nan_loss = false;
  bool nan_grad = false;
  std::vector<StepContext> contexts;

 private:
  // input, target (B,T) i32; logits (B,T,V).
  LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale, bool backward) override {
    contexts.push_back(ctx);
    const int64_t V = config_.vocab_size;
    const int64_t n = batch.input.numel();
    Tensor::ensure(logits_, {batch.input.dim(0), batch.input.dim(1), V}, DType::F32, Device::CPU);
    const int32_t* in = batch.input.data<int32_t>();
    const int32_t* tg = batch.target.data<int32_t>();
    const float* w = weight_->value.data<float>();
    const float* b = bias_->value.data<float>();
    float* dw = weight_->grad.data<float>();
    float* db = bias_->grad.data<float>();
    float* z = logits_.data<float>();
    LossSum loss;
    for (int64_t i = 0; i < n; ++i, z += V) {
      for (int64_t r = 0; r < V; ++r) z[r] = w[r * V + in[i]] + b[r];
      if (tg[i] == kIgnoreIndex) continue;
      double max = z[0];
      for (int64_t r = 1; r < V; ++r) max = std::max(max, static_cast<double>(z[r]));
      double sum = 0.0;
      for (int64_t r = 0; r < V; ++r) sum += std::exp(z[r] - max);
      const double lse = max + std::log(sum);
      loss.sum += lse - z[tg[i]];
      loss.tokens += 1;
      if (!backward) continue;
      for (int64_t r = 0; r < V; ++r) {
        const double d = (std::exp(z[r] - lse) - (r == tg[i] ? 1.0 : 0.0)) * grad_scale;
        dw[r * V + in[i]] += static_cast<float>(d);
        db[r] += static_cast<float>(d);
      }
    }
    if (nan_loss) loss.sum = std::numeric_limits<double>::quiet_NaN();
    if (nan_grad && backward) dw[0] = std::numeric_limits<float>::infinity();
    return loss;
  }

  ModelConfig config_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
  Tensor logits_;
};

}  // namespace weft::testing
