#include "weft/backend/adamw.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {

void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s) {
  const char* op = "adamw_update";
  detail::check_floating(op, "param", param);
  detail::check_same(op, "grad", grad, param);
  detail::check_same(op, "m", m, param);
  detail::check_same(op, "v", v, param);
  WEFT_CHECK(s.step >= 1, op, ": step is 1-based, got ", s.step);
  WEFT_CHECK(s.beta1 >= 0.0 && s.beta1 < 1.0 && s.beta2 >= 0.0 && s.beta2 < 1.0, op,
             ": betas must be in [0, 1), got ", s.beta1, ", ", s.beta2);
  WEFT_CHECK(s.lr >= 0.0 && s.eps > 0.0 && s.weight_decay >= 0.0, op,
             ": need lr >= 0, eps > 0, weight_decay >= 0, got lr ", s.lr, ", eps ", s.eps,
             ", weight_decay ", s.weight_decay);
  WEFT_DISPATCH(param.device(), adamw_update, param, grad, m, v, s);
}

}  // namespace weft::ops
