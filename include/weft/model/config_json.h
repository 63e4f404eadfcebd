#pragma once
// ModelConfig as JSON, for checkpoint manifests and exports. Every field is
// written under its C++ name; enums as words ("decoder-only", "pre", "gelu",
// "learned"), so a manifest reads without the source at hand.

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/model/config.h"

namespace weft {

// The word each value of a ModelConfig enum is written as, in JSON and in
// the CLI's [model] keys: the one place these names are spelled.
template <typename Enum>
using EnumNames = std::vector<std::pair<Enum, const char*>>;

template <typename Enum>
const EnumNames<Enum>& enum_names();
template <>
const EnumNames<Architecture>& enum_names<Architecture>();
template <>
const EnumNames<NormPlacement>& enum_names<NormPlacement>();
template <>
const EnumNames<ops::Activation>& enum_names<ops::Activation>();
template <>
const EnumNames<PositionEncoding>& enum_names<PositionEncoding>();
template <>
const EnumNames<ops::SinusoidLayout>& enum_names<ops::SinusoidLayout>();
template <>
const EnumNames<NormType>& enum_names<NormType>();
template <>
const EnumNames<FeedForwardType>& enum_names<FeedForwardType>();

// The word for `value`; nullptr for a value with no name (a cast integer).
template <typename Enum>
const char* enum_name(Enum value) {
  for (const auto& [v, name] : enum_names<Enum>()) {
    if (v == value) return name;
  }
  return nullptr;
}

// The value named `word`, or none when no value has that name.
template <typename Enum>
std::optional<Enum> enum_from_name(std::string_view word) {
  for (const auto& [v, name] : enum_names<Enum>()) {
    if (word == name) return v;
  }
  return std::nullopt;
}

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
