#include "data/format_header.h"

#include "weft/tensor/error.h"

namespace weft::data {

void check_format_header(const nlohmann::json& json, const std::string& path,
                         const std::string& format, const std::string& what,
                         const std::string& versioned) {
  WEFT_CHECK(json.value("format", "") == format, path, ": not a weft ", what, " (\"format\" is not \"",
             format, "\")");
  WEFT_CHECK(json.at("version").get<int>() == 1, path, ": ", versioned, " version ",
             json.at("version").dump(), " is not supported (this build reads version 1)");
}

}  // namespace weft::data
