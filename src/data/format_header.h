#pragma once
// The header every JSON file weft writes for its data carries:
// {"format": "weft-<kind>", "version": 1, ...}.

#include <nlohmann/json.hpp>
#include <string>

namespace weft::data {

// Throws weft::Error naming `path` when `json` is not a `format` file of
// version 1: `what` names the file for the user ("tokenizer file"),
// `versioned` what the version is of ("tokenizer file", "dataset").
void check_format_header(const nlohmann::json& json, const std::string& path,
                         const std::string& format, const std::string& what,
                         const std::string& versioned);

}  // namespace weft::data
