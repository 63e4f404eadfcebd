#pragma once
// The header every JSON file weft writes for its data carries:
// {"format": "weft-<kind>", "version": 1, ...}.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace weft::data {

// Throws weft::Error naming `path` when `json` is not a `format` file of
// version 1: `what` names the file for the user ("tokenizer file"),
// `versioned` what the version is of ("tokenizer file", "dataset").
void check_format_header(const nlohmann::json& json, const std::string& path,
                         const std::string& format, const std::string& what,
                         const std::string& versioned);

// `value` as an integer in [lo, hi]. A float (JSON writes integers past
// 2^64 as floats, whose conversion would be undefined), any other type, or
// an integer out of range throws weft::Error naming `where` (a file and a
// key) and the value.
int64_t json_integer(const nlohmann::json& value, const std::string& where, int64_t lo,
                     int64_t hi);

}  // namespace weft::data
