#pragma once
// What the exports to other frameworks share: a model's weights whole, by
// weft name, and one of them as a host f32 tensor of a checked shape.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/model/model.h"

namespace weft::detail {

// Every parameter by weft name, the real vocabulary's rows only (padding
// rows are not part of the model). Throws weft::Error, naming `format`, for
// a tensor-parallel shard: an export is of a single-rank (merged) model.
std::map<std::string, Tensor> whole_weights(Model& model, const std::string& format);

// weights[name] as a host f32 copy; throws weft::Error naming `format` and
// the tensor when it is missing or not of `shape`.
Tensor host_f32(const std::map<std::string, Tensor>& weights, const std::string& name,
                const Shape& shape, const std::string& format);

// Writes `text` to dir/name atomically, creating `dir` (and its parents).
void write_export_file(const std::string& dir, const std::string& name, const std::string& text,
                       const std::string& format);

// A Hugging Face model directory: dir/config.json, then dir/model.safetensors
// (f32 tensors in the given order, metadata format "pt"), each written
// atomically.
void write_hf_model(const std::string& dir, const std::string& format,
                    const std::string& config_json,
                    const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace weft::detail
