#pragma once
// The one place a ModelConfig's architecture picks a model family.

#include <memory>

#include "weft/model/model.h"

namespace weft {

// A freshly constructed model (parameters unset: see initialize_parameters)
// holding this rank's shards of the layout in `ctx`.
std::unique_ptr<Model> make_model(const ModelConfig& config, const LayerContext& ctx = {});

}  // namespace weft
