#include "weft/train/adamw.h"

#include <cmath>
#include <unordered_set>

#include "weft/backend/adamw.h"
#include "weft/tensor/error.h"

namespace weft {

void AdamWOptions::validate() const {
  WEFT_CHECK(beta1 >= 0.0 && beta1 < 1.0, "AdamW: beta1 must be in [0, 1), got ", beta1);
  WEFT_CHECK(beta2 >= 0.0 && beta2 < 1.0, "AdamW: beta2 must be in [0, 1), got ", beta2);
  WEFT_CHECK(eps > 0.0 && std::isfinite(eps), "AdamW: eps must be positive, got ", eps);
  WEFT_CHECK(weight_decay >= 0.0 && std::isfinite(weight_decay),
             "AdamW: weight_decay must be >= 0, got ", weight_decay);
}

AdamW::AdamW(std::vector<Parameter*> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  options_.validate();
  std::unordered_set<const Parameter*> seen;
  exp_avg_.reserve(params_.size());
  exp_avg_sq_.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter* p = params_[i];
    WEFT_CHECK(p != nullptr, "AdamW: parameter ", i, " is null");
    WEFT_CHECK(seen.insert(p).second, "AdamW: parameter ", p->name,
               " is listed twice; it would be updated twice per step");
    WEFT_CHECK(p->value.defined(), "AdamW: parameter ", p->name, " has no value");
    exp_avg_.push_back(Tensor::zeros(p->value.shape(), p->value.dtype(), p->value.device()));
    exp_avg_sq_.push_back(Tensor::zeros(p->value.shape(), p->value.dtype(), p->value.device()));
  }
}

void AdamW::step(double lr, double grad_scale) {
  WEFT_CHECK(lr >= 0.0 && std::isfinite(lr), "AdamW: learning rate must be finite and >= 0, got ",
             lr, " at step ", step_count_ + 1);
  WEFT_CHECK(std::isfinite(grad_scale), "AdamW: grad_scale must be finite, got ", grad_scale,
             " at step ", step_count_ + 1);
  ++step_count_;
  ops::AdamWStep s;
  s.lr = lr;
  s.beta1 = options_.beta1;
  s.beta2 = options_.beta2;
  s.eps = options_.eps;
  s.step = step_count_;
  s.grad_scale = grad_scale;
  for (size_t i = 0; i < params_.size(); ++i) {
    Parameter& p = *params_[i];
    s.weight_decay = p.weight_decay ? options_.weight_decay : 0.0;
    ops::adamw_update(p.value, p.grad, exp_avg_[i], exp_avg_sq_[i], s);
  }
}

void AdamW::set_step_count(int64_t steps) {
  WEFT_CHECK(steps >= 0, "AdamW: step count must be >= 0, got ", steps);
  step_count_ = steps;
}

std::vector<NamedTensor> AdamW::state_tensors() {
  std::vector<NamedTensor> out;
  out.reserve(2 * params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    out.push_back({params_[i]->name + ".exp_avg", &exp_avg_[i]});
    out.push_back({params_[i]->name + ".exp_avg_sq", &exp_avg_sq_[i]});
  }
  return out;
}

}  // namespace weft
