#pragma once
// AdamW over a fixed list of parameters. The optimizer owns the first and
// second moment of every parameter (same shape and device as its value) and
// the step counter used for bias correction; all go into checkpoints so that
// a resumed run continues bit for bit.
//
// Mixed precision: for a bf16 parameter the optimizer also keeps an f32
// master copy, and its moments are f32. The update is applied to the master
// and the parameter receives it rounded to bf16, so updates smaller than a
// bf16 step are not lost.

#include <cstdint>
#include <string>
#include <vector>

#include "weft/backend/adamw.h"
#include "weft/model/parameter.h"

namespace weft {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // applied only to parameters with weight_decay = true
  // Throws weft::Error naming the first field out of range.
  void validate() const;
};

// A state tensor with its checkpoint key. `tensor` points into the optimizer:
// a checkpoint loader copies into it (Tensor::copy_from).
struct NamedTensor {
  std::string name;
  Tensor* tensor = nullptr;
};

class AdamW {
 public:
  // Throws weft::Error for a null or repeated parameter (a tied weight listed
  // twice would be stepped twice) and for bad options.
  AdamW(std::vector<Parameter*> params, AdamWOptions options = {});

  // One update of every parameter from its grad: increments the step counter,
  // then g = grad_scale · grad (grad_scale carries gradient clipping).
  void step(double lr, double grad_scale = 1.0);

  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps);

  const std::vector<Parameter*>& parameters() const { return params_; }
  const AdamWOptions& options() const { return options_; }

  // "<param name>.exp_avg" (m) and "<param name>.exp_avg_sq" (v), per
  // parameter in order: torch.optim.AdamW's names for the same tensors; then
  // "<param name>.master" for a parameter with an f32 master copy.
  std::vector<NamedTensor> state_tensors();

  // Copies every parameter's value into its master copy: after the values
  // were set from outside (initialisation, a loaded model).
  void reload_masters();

 private:
  std::vector<Parameter*> params_;
  AdamWOptions options_;
  std::vector<Tensor> exp_avg_;     // m, one per parameter
  std::vector<Tensor> exp_avg_sq_;  // v, one per parameter
  std::vector<Tensor> master_;      // f32 copy of each bf16 parameter; undefined otherwise
  std::vector<ops::AdamWTensor> update_list_;  // what adamw_update_many is handed each step
  int64_t step_count_ = 0;
};

}  // namespace weft
