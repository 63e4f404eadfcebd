#pragma once
// A sublayer with its residual connection, dropout and layer norm, in either
// placement:
//   pre  (GPT-2):  y = x + dropout(f(norm(x)))
//   post (2017):   y = norm(x + dropout(f(x)))
// The sublayer f is passed in as a pair of functions, so attention, cross-
// attention and feed-forward share this wiring. Caches the norm's input or
// output and the sum, and owns y.

#include <functional>

#include "weft/model/config.h"
#include "weft/model/dropout.h"
#include "weft/model/norm.h"

namespace weft {

class Residual : public Module {
 public:
  using Forward = std::function<void(const Tensor& in, Tensor& out)>;
  // Writes din, the gradient at the sublayer's input, from dout at its output.
  using Backward = std::function<void(const Tensor& dout, const Tensor& in, Tensor& din)>;

  // The norm's placement, type and eps, and the dropout, from the config.
  Residual(std::string name, const ModelConfig& c, const LayerContext& ctx);

  // x (B,T,d); returns y, owned by this object until the next forward.
  const Tensor& forward(const Tensor& x, const Forward& f, const StepContext& ctx);
  const Tensor& output() const { return out_; }
  // dy at y -> dx (written) at x.
  void backward(const Tensor& dy, const Tensor& x, const Backward& f, Tensor& dx,
                const StepContext& ctx);
  // Drops the cached activations and scratch (full recompute); y too unless
  // keep_output (a block's last residual holds the block's output).
  void release_activations(bool keep_output);

 private:
  NormPlacement placement_;
  Norm norm_;
  Dropout dropout_;
  Tensor normed_;   // pre: norm(x), the sublayer's input
  Tensor sum_;      // post: x + dropout(f(x)), the norm's input
  Tensor out_;      // y (post: also holds f's output before the sum)
  Tensor dsum_, dsub_, dnormed_;
};

}  // namespace weft
