#pragma once
// Every parameter value of a model, in parameters() order: two training
// runs agree exactly when these do.

#include <vector>

#include "weft/model/model.h"

namespace weft::testing {

inline std::vector<float> parameter_values(Model& model) {
  std::vector<float> out;
  for (Parameter* p : model.parameters()) {
    const std::vector<float> v = p->value.to_float_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace weft::testing
