#include "weft/backend/adamw.h"

#include <string>
#include <utility>

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

namespace {

// The hyper-parameters shared by every tensor of an update.
void check_step(const char* op, const AdamWStep& s) {
  WEFT_CHECK(s.step >= 1, op, ": step is 1-based, got ", s.step);
  WEFT_CHECK(s.beta1 >= 0.0 && s.beta1 < 1.0 && s.beta2 >= 0.0 && s.beta2 < 1.0, op,
             ": betas must be in [0, 1), got ", s.beta1, ", ", s.beta2);
  WEFT_CHECK(s.lr >= 0.0 && s.eps > 0.0 && s.weight_decay >= 0.0, op,
             ": need lr >= 0, eps > 0, weight_decay >= 0, got lr ", s.lr, ", eps ", s.eps,
             ", weight_decay ", s.weight_decay);
}

// Entry i of a multi-tensor list: all four (five) tensors present, on
// `device`, of one shape; one dtype throughout, or with a master copy f32
// master, m and v for a bf16 (or f32) param, and a grad of the param's dtype
// or f32.
void check_entry(const char* op, const AdamWTensor& t, size_t i, Device device) {
  const std::string name = ::weft::detail::concat("tensors[", i, "]");
  WEFT_CHECK(t.param != nullptr && t.grad != nullptr && t.m != nullptr && t.v != nullptr, op, ": ",
             name, " needs param, grad, m and v (only master may be null)");
  const Tensor& param = *t.param;
  const std::string param_name = name + ".param";
  detail::check_floating(op, param_name.c_str(), param);
  detail::check_device(op, param_name.c_str(), param, device);
  WEFT_CHECK(t.weight_decay >= 0.0, op, ": ", name, ".weight_decay must be >= 0, got ",
             t.weight_decay);
  const std::string grad_name = name + ".grad";
  if (t.master == nullptr) {
    detail::check_same(op, grad_name.c_str(), *t.grad, param);
    for (const auto& [state, state_name] : {std::pair{t.m, ".m"}, std::pair{t.v, ".v"}}) {
      detail::check_same(op, (name + state_name).c_str(), *state, param);
    }
    return;
  }
  WEFT_CHECK(param.dtype() == DType::BF16 || param.dtype() == DType::F32, op, ": ", param_name,
             " with a master copy must be bf16 or f32, got ", param.describe());
  detail::check_grad(op, grad_name.c_str(), *t.grad, param);  // f32: main gradients
  for (const auto& [state, state_name] :
       {std::pair{t.m, ".m"}, std::pair{t.v, ".v"}, std::pair{t.master, ".master"}}) {
    const std::string arg = name + state_name;
    WEFT_CHECK(state->defined() && state->shape() == param.shape() &&
                   state->dtype() == DType::F32 && state->device() == device,
               op, ": ", arg, " must be f32", shape_str(param.shape()), " on ", device_name(device),
               " (f32 state of ", param.describe(), "), got ", state->describe());
  }
}

}  // namespace

void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s) {
  const char* op = "adamw_update";
  detail::check_floating(op, "param", param);
  detail::check_same(op, "grad", grad, param);
  detail::check_same(op, "m", m, param);
  detail::check_same(op, "v", v, param);
  check_step(op, s);
  WEFT_DISPATCH(param.device(), adamw_update, param, grad, m, v, s);
}

void adamw_update_many(const std::vector<AdamWTensor>& tensors, const AdamWStep& s) {
  const char* op = "adamw_update_many";
  check_step(op, s);
  if (tensors.empty()) return;
  WEFT_CHECK(tensors[0].param != nullptr && tensors[0].param->defined(), op,
             ": tensors[0].param is null or undefined");
  const Device device = tensors[0].param->device();
  for (size_t i = 0; i < tensors.size(); ++i) check_entry(op, tensors[i], i, device);
  WEFT_DISPATCH(device, adamw_update_many, tensors, s);
}

}  // namespace weft::ops
