#include "data/loader_common.h"

#include <utility>

#include "data/format_header.h"
#include "weft/tensor/counter_rng.h"
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

void shuffle(std::vector<int64_t>& items, uint64_t key) {
  for (auto i = static_cast<int64_t>(items.size()) - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(
        below(rng::mix64(key ^ rng::mix64(static_cast<uint64_t>(i))), static_cast<uint64_t>(i + 1)));
    std::swap(items[i], items[j]);
  }
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
    return saved_count(state, "batch", loader);
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
