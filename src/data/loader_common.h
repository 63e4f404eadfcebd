#pragma once
// What both loaders share: the data-parallel checks, unbiased-enough draws
// from the counter-based generator, and the checks of a restored state.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace weft::data {

// Refuses a batch that does not split evenly over the data-parallel ranks.
void check_data_parallel(const char* loader, int64_t batch_size, int64_t dp_rank, int64_t dp_size);

// A number in [0, n) from 64 random bits (Lemire's multiply-shift).
inline uint64_t below(uint64_t random, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * n) >> 64);
}

// Fisher–Yates over `items`, drawn from the counter-based generator keyed by
// `key`: the same key gives the same order on every rank.
void shuffle(std::vector<int64_t>& items, uint64_t key);

// Refuses `state` unless each field of `identity` (loader kind, split, seed,
// ...) has the same value in it; then returns its "batch".
int64_t restored_batch(const nlohmann::json& state, const nlohmann::json& identity);

// The non-negative integer `key` of a saved state, refused by name when
// missing or of the wrong type.
int64_t saved_count(const nlohmann::json& state, const char* key, const std::string& loader);

}  // namespace weft::data
