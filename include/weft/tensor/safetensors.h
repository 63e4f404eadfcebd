#pragma once
// The safetensors format (Hugging Face): checkpoints, exports and test
// fixtures. A file is
//   8 bytes     little-endian u64 N, the header's length
//   N bytes     JSON: {"<name>": {"dtype": "F32", "shape": [2, 3],
//                                 "data_offsets": [begin, end]}, ...,
//                      "__metadata__": {"<key>": "<string>", ...}}
//   the rest    raw little-endian tensor data; offsets count from its start
// dtypes F32, F64, BF16 and I32 map onto weft's DType. Loading refuses every
// malformed file with a weft::Error naming the file and what is wrong;
// saving goes through AtomicFile (atomic_file.h): a reader finds the old
// file or the new one whole.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/tensor/tensor.h"

namespace weft {

using SafetensorsMetadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  std::string path;
  // Host tensors, in the order of their data in the file.
  std::vector<std::pair<std::string, Tensor>> tensors;
  SafetensorsMetadata metadata;

  // nullptr when the file holds no tensor of that name.
  const Tensor* find(const std::string& name) const;
  // Throws weft::Error naming the file and the missing tensor.
  const Tensor& at(const std::string& name) const;
  // Throws weft::Error naming the file and the missing metadata key.
  const std::string& meta(const std::string& key) const;
};

// Writes `tensors` (any device; copied to the host) in the given order.
// Throws weft::Error for an undefined tensor, a repeated or reserved name, or
// an I/O failure; an existing file at `path` is replaced only by a complete one.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const SafetensorsMetadata& metadata = {});

SafetensorsFile load_safetensors(const std::string& path);

// "F32", "F64", "BF16", "I32": the format's names for weft's dtypes.
const char* safetensors_dtype_name(DType dtype);

}  // namespace weft
