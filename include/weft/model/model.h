#pragma once
// The interface the trainer drives: a model turns a batch of token ids into a
// summed loss, and on request accumulates the gradient of that loss into its
// parameters. Both families (DecoderOnly, EncoderDecoder) implement it.

#include "weft/data/batch.h"
#include "weft/model/config.h"
#include "weft/model/parameter.h"

namespace weft {

// Σ of per-token losses over the counted (non-ignored) targets, and their count.
struct LossSum {
  double sum = 0.0;
  int64_t tokens = 0;
  double mean() const { return tokens > 0 ? sum / static_cast<double>(tokens) : 0.0; }
};

class Model : public Module {
 public:
  using Module::Module;

  // Forward only. Label smoothing applies when ctx.training (the training
  // objective); evaluation (training = false) reports plain cross-entropy.
  LossSum forward(const Batch& batch, const StepContext& ctx) {
    return run(batch, ctx, 0.0, /*backward=*/false);
  }
  // Forward, then backward of grad_scale · loss.sum into every parameter's
  // grad (+=), so micro-batches accumulate. The trainer passes
  // 1 / (counted tokens in the global batch) to train on the mean loss.
  LossSum forward_backward(const Batch& batch, const StepContext& ctx, double grad_scale) {
    return run(batch, ctx, grad_scale, /*backward=*/true);
  }
  // Logits (B,T,V_local) of the last forward.
  virtual const Tensor& logits() const = 0;
  virtual const ModelConfig& config() const = 0;

 protected:
  // Both of the above: each family's one pass, backward or not.
  virtual LossSum run(const Batch& batch, const StepContext& ctx, double grad_scale,
                      bool backward) = 0;
};

}  // namespace weft
