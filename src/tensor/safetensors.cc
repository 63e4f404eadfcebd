#include "weft/tensor/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swapping");

namespace {

using ordered_json = nlohmann::ordered_json;
constexpr const char* kMetadataKey = "__metadata__";

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw Error("safetensors file '" + path + "': " + what);
}

bool dtype_from_name(const std::string& name, DType& dtype) {
  for (DType d : {DType::F32, DType::F64, DType::BF16, DType::I32}) {
    if (name == safetensors_dtype_name(d)) {
      dtype = d;
      return true;
    }
  }
  return false;
}

std::vector<char> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) refuse(path, std::string("cannot open for reading: ") + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) refuse(path, "cannot determine its size");
  std::vector<char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(bytes.data(), size)) refuse(path, "read failed");
  return bytes;
}

// One tensor entry of the header, checked against the data section's size.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

uint64_t unsigned_field(const std::string& path, const std::string& name, const char* field,
                        const nlohmann::json& v) {
  if (!v.is_number_unsigned()) {
    refuse(path,
           "tensor '" + name + "': " + field + " must hold non-negative integers, got " + v.dump());
  }
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& info,
                  uint64_t data_size) {
  if (!info.is_object()) refuse(path, "tensor '" + name + "': entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!info.contains(key)) refuse(path, "tensor '" + name + "': no \"" + key + "\"");
  }
  Entry e;
  e.name = name;
  const nlohmann::json& dtype = info["dtype"];
  if (!dtype.is_string() || !dtype_from_name(dtype.get<std::string>(), e.dtype)) {
    refuse(path, "tensor '" + name + "': unknown dtype " + dtype.dump() +
                     " (supported: F32, F64, BF16, I32)");
  }
  const nlohmann::json& shape = info["shape"];
  if (!shape.is_array()) refuse(path, "tensor '" + name + "': shape is not an array");
  uint64_t numel = 1;
  for (const nlohmann::json& d : shape) {
    const uint64_t dim = unsigned_field(path, name, "shape", d);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (dim != 0 && numel > data_size / dim)) {
      numel = data_size + 1;  // larger than any tensor that fits: reported below
    } else {
      numel *= dim;
    }
    e.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(dim, INT64_MAX)));
  }
  const nlohmann::json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    refuse(path, "tensor '" + name + "': data_offsets must be [begin, end], got " + offsets.dump());
  }
  e.begin = unsigned_field(path, name, "data_offsets", offsets[0]);
  e.end = unsigned_field(path, name, "data_offsets", offsets[1]);
  if (e.begin > e.end || e.end > data_size) {
    refuse(path, "tensor '" + name + "': data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + ") lie outside the data section of " +
                     std::to_string(data_size) + " bytes");
  }
  const uint64_t expected = numel > data_size ? UINT64_MAX : numel * dtype_size(e.dtype);
  if (e.end - e.begin != expected) {
    refuse(path, "tensor '" + name + "': " + safetensors_dtype_name(e.dtype) + " shape " +
                     shape_str(e.shape) + " needs " +
                     (expected == UINT64_MAX ? std::string("more") : std::to_string(expected)) +
                     " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  }
  return e;
}

SafetensorsMetadata parse_metadata(const std::string& path, const nlohmann::json& meta) {
  if (!meta.is_object()) refuse(path, "__metadata__ is not a JSON object");
  SafetensorsMetadata out;
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    if (!it.value().is_string()) {
      refuse(path, "__metadata__ key '" + it.key() + "' is not a string: " + it.value().dump());
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

// Parses the header, refusing a key given twice (JSON parsers keep the last).
nlohmann::json parse_header(const std::string& path, const char* begin, const char* end) {
  std::set<std::string> seen;
  std::string repeated;
  auto watch_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && repeated.empty() &&
        !seen.insert(parsed.get<std::string>()).second) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(begin, end, watch_keys);
  } catch (const nlohmann::json::exception& e) {
    refuse(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) refuse(path, "header is not a JSON object");
  if (!repeated.empty()) refuse(path, "header names '" + repeated + "' twice");
  return header;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::BF16:
      return "BF16";
    case DType::I32:
      return "I32";
  }
  return "?";
}

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
  const Tensor* t = find(name);
  if (!t) refuse(path, "holds no tensor '" + name + "'");
  return *t;
}

const std::string& SafetensorsFile::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) refuse(path, "__metadata__ has no key '" + key + "'");
  return it->second;
}

SafetensorsFile load_safetensors(const std::string& path) {
  const std::vector<char> bytes = read_whole_file(path);
  if (bytes.size() < 8) {
    refuse(path, "truncated: " + std::to_string(bytes.size()) +
                     " bytes, fewer than the 8-byte header length");
  }
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  const uint64_t after_len = bytes.size() - 8;
  if (header_len > after_len) {
    refuse(path, "header length " + std::to_string(header_len) +
                     " runs past the end of the file (" + std::to_string(after_len) +
                     " bytes follow the length)");
  }
  const char* header_begin = bytes.data() + 8;
  const nlohmann::json header = parse_header(path, header_begin, header_begin + header_len);

  const char* data = header_begin + header_len;
  const uint64_t data_size = after_len - header_len;
  SafetensorsFile file;
  file.path = path;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == kMetadataKey) {
      file.metadata = parse_metadata(path, it.value());
    } else {
      entries.push_back(parse_entry(path, it.key(), it.value(), data_size));
    }
  }

  // The data section must be tiled exactly: no overlap, no hole, nothing after.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered) {
      refuse(path, "tensors '" + previous->name + "' and '" + e.name + "' overlap in the data (" +
                       std::to_string(e.begin) + " < " + std::to_string(covered) + ")");
    }
    if (e.begin > covered) {
      refuse(path, "bytes [" + std::to_string(covered) + ", " + std::to_string(e.begin) +
                       ") of the data belong to no tensor");
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size) {
    refuse(path, "the data section has " + std::to_string(data_size) +
                     " bytes but its tensors end at " + std::to_string(covered));
  }

  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::CPU);
    if (t.nbytes() > 0) std::memcpy(t.raw(), data + e.begin, t.nbytes());
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const SafetensorsMetadata& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json meta = ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = meta;
  }
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) refuse(path, "'__metadata__' is reserved and cannot name a tensor");
    if (header.contains(name)) refuse(path, "tensor '" + name + "' is given twice");
    if (!tensor.defined()) refuse(path, "tensor '" + name + "' is undefined");
    host.push_back(tensor.device() == Device::CPU ? tensor : tensor.to(Device::CPU));
    const uint64_t n = tensor.nbytes();
    header[name] = {{"dtype", safetensors_dtype_name(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const uint64_t header_len = text.size();

  write_file_atomically(path, [&](AtomicFile& file) {
    char len_bytes[8];
    std::memcpy(len_bytes, &header_len, 8);
    file.write(len_bytes, 8);
    file.write(text);
    for (const Tensor& t : host) {
      if (t.nbytes() > 0) file.write(t.raw(), t.nbytes());
    }
  });
}

}  // namespace weft
