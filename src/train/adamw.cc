#include "weft/train/adamw.h"

#include <cmath>
#include <unordered_set>

#include "weft/backend/adamw.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"
#include "weft/train/clip.h"

namespace weft {

void AdamWOptions::validate() const {
  WEFT_CHECK(beta1 >= 0.0 && beta1 < 1.0, "AdamW: beta1 must be in [0, 1), got ", beta1);
  WEFT_CHECK(beta2 >= 0.0 && beta2 < 1.0, "AdamW: beta2 must be in [0, 1), got ", beta2);
  WEFT_CHECK(eps > 0.0 && std::isfinite(eps), "AdamW: eps must be positive, got ", eps);
  WEFT_CHECK(weight_decay >= 0.0 && std::isfinite(weight_decay),
             "AdamW: weight_decay must be >= 0, got ", weight_decay);
}

AdamW::AdamW(std::vector<Parameter*> params, AdamWOptions options,
             std::vector<ElementRange> owned)
    : params_(std::move(params)), options_(options), owned_(std::move(owned)) {
  options_.validate();
  WEFT_CHECK(owned_.empty() || owned_.size() == params_.size(), "AdamW: ", owned_.size(),
             " owned ranges for ", params_.size(), " parameters");
  std::unordered_set<const Parameter*> seen;
  exp_avg_.reserve(params_.size());
  exp_avg_sq_.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter* p = params_[i];
    WEFT_CHECK(p != nullptr, "AdamW: parameter ", i, " is null");
    WEFT_CHECK(seen.insert(p).second, "AdamW: parameter ", p->name,
               " is listed twice; it would be updated twice per step");
    WEFT_CHECK(p->value.defined(), "AdamW: parameter ", p->name, " has no value");
    if (distributed()) {
      const ElementRange r = owned_[i];
      WEFT_CHECK(r.begin >= 0 && r.begin <= r.end && r.end <= p->value.numel(), "AdamW: ",
                 p->name, " has ", p->value.numel(), " elements; the owned range [", r.begin,
                 ", ", r.end, ") is not inside");
    }
    // bf16 parameters train against an f32 master copy with f32 moments.
    const bool mixed = p->value.dtype() == DType::BF16;
    const DType state_dtype = mixed ? DType::F32 : p->value.dtype();
    const Shape shape = distributed() ? Shape{owned_[i].size()} : p->value.shape();
    exp_avg_.push_back(Tensor::zeros(shape, state_dtype, p->value.device()));
    exp_avg_sq_.push_back(Tensor::zeros(shape, state_dtype, p->value.device()));
    master_.push_back(mixed ? Tensor::empty(shape, DType::F32, p->value.device()) : Tensor());
  }
  reload_masters();
  if (!distributed()) build_update_list();
}

Tensor AdamW::owned_view(const Tensor& t, size_t i) const {
  if (!distributed()) return t;
  return t.view({t.numel()}).rows(owned_[i].begin, owned_[i].end);
}

void AdamW::build_update_list() {
  update_list_.clear();
  value_views_.assign(params_.size(), Tensor());
  grad_views_.assign(params_.size(), Tensor());
  for (size_t i = 0; i < params_.size(); ++i) {
    Parameter& p = *params_[i];
    if (distributed() && owned_[i].empty()) continue;
    ops::AdamWTensor t;
    if (distributed()) {
      value_views_[i] = owned_view(p.value, i);
      grad_views_[i] = owned_view(p.grad, i);
      t.param = &value_views_[i];
      t.grad = &grad_views_[i];
    } else {
      t.param = &p.value;
      t.grad = &p.grad;
    }
    t.m = &exp_avg_[i];
    t.v = &exp_avg_sq_[i];
    t.master = master_[i].defined() ? &master_[i] : nullptr;
    t.weight_decay = p.weight_decay ? options_.weight_decay : 0.0;
    update_list_.push_back(t);
  }
}

void AdamW::reload_masters() {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (master_[i].defined() && master_[i].numel() > 0) {
      ops::convert(owned_view(params_[i]->value, i), master_[i]);
    }
  }
}

double AdamW::grad_norm(Communicator* tp, Communicator* dp) const {
  SquaredGradSums sums;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (distributed() && owned_[i].empty()) continue;
    sums.add(*params_[i], owned_view(params_[i]->grad, i));
  }
  return sums.norm(tp, distributed() ? dp : nullptr);
}

int64_t AdamW::state_bytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    bytes += static_cast<int64_t>(exp_avg_[i].nbytes() + exp_avg_sq_[i].nbytes());
    if (master_[i].defined()) bytes += static_cast<int64_t>(master_[i].nbytes());
  }
  return bytes;
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
  // One call for every parameter: one kernel launch on CUDA. Each entry
  // carries its own weight decay (none for biases and norm gains).
  if (distributed()) build_update_list();
  if (!update_list_.empty()) ops::adamw_update_many(update_list_, s);
}

void AdamW::set_step_count(int64_t steps) {
  WEFT_CHECK(steps >= 0, "AdamW: step count must be >= 0, got ", steps);
  step_count_ = steps;
}

std::vector<NamedTensor> AdamW::states_of(size_t i) {
  const Parameter* p = params_[i];
  const ElementRange range = distributed() ? owned_[i] : ElementRange{0, p->value.numel()};
  const bool flat = distributed();
  std::vector<NamedTensor> out = {{p->name + ".exp_avg", &exp_avg_[i], p, flat, range},
                                  {p->name + ".exp_avg_sq", &exp_avg_sq_[i], p, flat, range}};
  if (master_[i].defined()) out.push_back({p->name + ".master", &master_[i], p, flat, range});
  return out;
}

std::vector<std::string> AdamW::state_names() {
  std::vector<std::string> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (const NamedTensor& t : states_of(i)) out.push_back(t.name);
  }
  return out;
}

std::vector<NamedTensor> AdamW::state_tensors() {
  std::vector<NamedTensor> out;
  out.reserve(2 * params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (distributed() && owned_[i].empty()) continue;
    for (const NamedTensor& t : states_of(i)) out.push_back(t);
  }
  return out;
}

}  // namespace weft
