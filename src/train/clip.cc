#include "weft/train/clip.h"

#include <algorithm>
#include <cmath>

#include "weft/backend/elementwise.h"

namespace weft {

double global_grad_norm(const std::vector<Parameter*>& params) {
  double total = 0.0;
  for (const Parameter* p : params) total += ops::sum_squares(p->grad);
  return std::sqrt(total);
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0;
  // The 1e-6 matches torch and keeps a zero norm from dividing by zero.
  return std::min(1.0, max_norm / (norm + 1e-6));
}

}  // namespace weft
