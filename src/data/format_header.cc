#include "data/format_header.h"

#include "weft/tensor/error.h"

namespace weft::data {

void check_format_header(const nlohmann::json& json, const std::string& path,
                         const std::string& format, const std::string& what,
                         const std::string& versioned) {
  WEFT_CHECK(json.value("format", "") == format, path, ": not a weft ", what, " (\"format\" is not \"",
             format, "\")");
  const nlohmann::json& version = json.at("version");
  WEFT_CHECK(version.is_number_integer() && version == 1, path, ": ", versioned, " version ",
             version.dump(), " is not supported (this build reads version 1)");
}

int64_t json_integer(const nlohmann::json& value, const std::string& where, int64_t lo,
                     int64_t hi) {
  const bool too_big = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{INT64_MAX};
  WEFT_CHECK(value.is_number_integer() && !too_big, where, " must be an integer, got ",
             value.dump());
  const int64_t n = value.get<int64_t>();
  WEFT_CHECK(n >= lo && n <= hi, where, " is ", n, ", outside [", lo, ", ", hi, "]");
  return n;
}

}  // namespace weft::data
