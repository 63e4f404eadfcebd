#pragma once
// ModelConfig as JSON, for checkpoint manifests and exports. Every field is
// written under its C++ name; enums as words ("decoder-only", "pre", "gelu",
// "learned"), so a manifest reads without the source at hand.

#include <nlohmann/json.hpp>

#include "weft/model/config.h"

namespace weft {

// All fields, always: a reader never has to guess a default that may have
// changed since the file was written.
nlohmann::json to_json(const ModelConfig& config);

// The inverse of to_json. Strict, because a silently defaulted field would
// build a different model than the one that was saved: a missing key, an
// unknown key, a wrong JSON type or an unknown enum word throws weft::Error
// naming the key and what was expected. Ranges are checked by
// ModelConfig::validate(), not here.
ModelConfig model_config_from_json(const nlohmann::json& json);

}  // namespace weft
