#include "data/loader_common.h"

#include "data/format_header.h"
#include "weft/tensor/error.h"

namespace weft::data {

void check_data_parallel(const char* loader, int64_t batch_size, int64_t dp_rank, int64_t dp_size) {
  WEFT_CHECK(batch_size > 0, loader, ": batch size must be positive, got ", batch_size);
  WEFT_CHECK(dp_size > 0 && dp_rank >= 0 && dp_rank < dp_size, loader, ": data-parallel rank ",
             dp_rank, " is outside [0, ", dp_size, ")");
  WEFT_CHECK(batch_size % dp_size == 0, loader, ": the global batch of ", batch_size,
             " is not divisible by the ", dp_size, " data-parallel ranks; each rank takes ",
             "batch_size / dp_size rows, so choose a batch size that is a multiple of ", dp_size);
}

int64_t restored_batch(const nlohmann::json& state, const nlohmann::json& identity) {
  const std::string loader = identity.at("loader").get<std::string>();
  try {
    for (const auto& [key, value] : identity.items()) {
      WEFT_CHECK(state.contains(key), "cannot restore the ", loader, " loader: the saved state ",
                 "has no \"", key, "\" (", state.dump(), ")");
      WEFT_CHECK(state.at(key) == value, "cannot restore the ", loader, " loader: the saved ",
                 "state has ", key, " = ", state.at(key).dump(), " but this loader has ",
                 value.dump(), "; resuming would not continue the same data stream");
    }
    return json_integer(state.at("batch"), "cannot restore the " + loader + " loader: batch", 0,
                        INT64_MAX);
  } catch (const nlohmann::json::exception& e) {
    throw Error("cannot restore the " + loader + " loader from " + state.dump() + ": " + e.what());
  }
}

int64_t saved_count(const nlohmann::json& state, const char* key, const std::string& loader) {
  WEFT_CHECK(state.contains(key), "cannot restore the ", loader, " loader: the saved state has no \"",
             key, "\" (", state.dump(), ")");
  return json_integer(state.at(key), "cannot restore the " + loader + " loader: " + key, 0,
                      INT64_MAX);
}

}  // namespace weft::data
