// A distributed optimizer's state, saved as one flat part per data-parallel
// rank, reassembled into whole shard tensors for the restore's re-splitting.

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <map>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/error.h"

namespace weft::checkpoint {

namespace fs = std::filesystem;

namespace {

struct Piece {
  int64_t begin, end;
  const Tensor* tensor;
  std::string file;
};

// "<parameter>.exp_avg" → "<parameter>": state names end in one suffix.
std::string parameter_of(const std::string& state) {
  const size_t dot = state.rfind('.');
  return dot == std::string::npos ? state : state.substr(0, dot);
}

}  // namespace

SafetensorsFile assemble_optimizer_parts(const std::vector<std::string>& part_paths,
                                         const Checkpoint& c, int64_t shard) {
  std::vector<SafetensorsFile> parts;
  for (const std::string& path : part_paths) parts.push_back(load_safetensors(path));

  std::map<std::string, std::vector<Piece>> pieces;  // by state name
  for (const SafetensorsFile& part : parts) {
    const std::string name = fs::path(part.path).filename().string();
    const auto refuse = [&](const std::string& what) {
      return Error(name + ": " + what + " (" + part.path + ")");
    };
    nlohmann::json ranges;
    try {
      ranges = nlohmann::json::parse(part.meta(kPartRangesKey));
    } catch (const nlohmann::json::exception& e) {
      throw refuse(std::string("metadata '") + kPartRangesKey + "' is not valid JSON: " + e.what());
    }
    if (!ranges.is_object()) throw refuse(std::string("metadata '") + kPartRangesKey + "' is not an object");
    for (const auto& [state, tensor] : part.tensors) {
      const std::string param = parameter_of(state);
      const auto saved = c.parameters.find(param);
      if (saved == c.parameters.end()) throw refuse("holds " + state + ", a state of no saved parameter");
      const auto range = ranges.find(param);
      if (range == ranges.end() || !range->is_array() || range->size() != 2 ||
          !(*range)[0].is_number_integer() || !(*range)[1].is_number_integer()) {
        throw refuse("has no range [begin, end) for " + param + " in its metadata");
      }
      const int64_t begin = (*range)[0].get<int64_t>(), end = (*range)[1].get<int64_t>();
      const int64_t numel =
          shape_numel(shard_shape(saved->second.full_shape, saved->second.shard_dim, c.tp));
      if (begin < 0 || begin >= end || end > numel) {
        throw refuse(param + "'s range [" + std::to_string(begin) + ", " + std::to_string(end) +
               ") is not inside its shard of " + std::to_string(numel) + " elements");
      }
      if (tensor.rank() != 1 || tensor.numel() != end - begin) {
        throw refuse(state + " has shape " + shape_str(tensor.shape()) + ", its range holds " +
               std::to_string(end - begin) + " elements");
      }
      pieces[state].push_back({begin, end, &tensor, name});
    }
  }

  SafetensorsFile whole;
  whole.path = part_paths.empty() ? c.dir : part_paths.front();
  for (auto& [state, list] : pieces) {
    const SavedParameter& saved = c.parameters.at(parameter_of(state));
    Tensor t = Tensor::empty(shard_shape(saved.full_shape, saved.shard_dim, c.tp),
                             list.front().tensor->dtype());
    std::sort(list.begin(), list.end(), [](const Piece& a, const Piece& b) { return a.begin < b.begin; });
    int64_t covered = 0;
    const size_t element = dtype_size(t.dtype());
    for (const Piece& piece : list) {
      if (piece.begin != covered || piece.tensor->dtype() != t.dtype()) {
        throw Error(piece.file + ": " + state + " [" + std::to_string(piece.begin) + ", " +
                    std::to_string(piece.end) + ") " +
                    (piece.begin != covered ? "does not start where the parts before it end (" +
                                                  std::to_string(covered) + ")"
                                            : "has another dtype than the other parts") +
                    " in shard " + std::to_string(shard));
      }
      std::memcpy(static_cast<char*>(t.raw()) + covered * element, piece.tensor->raw(),
                  piece.tensor->nbytes());
      covered = piece.end;
    }
    if (covered != t.numel()) {
      throw Error(c.dir + ": the optimizer parts of shard " + std::to_string(shard) + " hold " +
                  std::to_string(covered) + " of " + state + "'s " + std::to_string(t.numel()) +
                  " elements");
    }
    whole.tensors.emplace_back(state, t);
  }
  return whole;
}

}  // namespace weft::checkpoint
