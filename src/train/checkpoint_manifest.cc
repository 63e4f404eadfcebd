// manifest.json: what a checkpoint holds and how to check it. Reading refuses
// anything that is not a version-1 weft checkpoint with every key present,
// naming the manifest and the key, before any other file is opened.

#include <filesystem>
#include <fstream>
#include <sstream>

#include "train/checkpoint_internal.h"
#include "weft/model/config_json.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft::checkpoint {

namespace fs = std::filesystem;
using nlohmann::json;

json build_manifest(const ManifestInputs& in) {
  const CheckpointState& state = *in.state;
  json parameters = json::object();
  for (const Parameter* p : in.parameters) {
    parameters[p->name] = {{"dtype", safetensors_dtype_name(p->value.dtype())},
                           {"full_shape", p->full_shape},
                           {"shard_dim", p->shard_dim},
                           {"shard_offset", p->shard_offset}};
  }
  return {{"format", kCheckpointFormat},
          {"version", kCheckpointVersion},
          {"step", state.step},
          {"optimizer_step_count", in.optimizer_step_count},
          {"model_config", to_json(in.model->config())},
          {"run_config", state.run_config},
          {"data_state", state.data_state},
          {"rng", {{"seed", state.seed}}},
          // Every file holds full tensors (tp 1); "parameters" says how each
          // one splits when a loader under another layout re-shards it.
          {"layout", {{"tp", 1}, {"dp", state.dp}}},
          {"parameters", parameters},
          {"tokenizer", in.tokenizer_files},
          {"files", in.files}};
}

namespace {

// Errors name the manifest and the key, so a user knows which file to look at.
class ManifestReader {
 public:
  ManifestReader(std::string path, const json& root) : path_(std::move(path)), root_(root) {}

  [[noreturn]] void refuse(const std::string& what) const { throw Error(path_ + ": " + what); }

  const json& key(const json& object, const std::string& name, const std::string& where) const {
    auto it = object.find(name);
    if (it == object.end()) refuse("no key '" + where + name + "'");
    return *it;
  }
  const json& key(const std::string& name) const { return key(root_, name, ""); }

  int64_t integer(const json& v, const std::string& name) const {
    if (!v.is_number_integer()) refuse("'" + name + "' must be an integer, got " + v.dump());
    return v.get<int64_t>();
  }
  const json& object(const json& v, const std::string& name) const {
    if (!v.is_object()) refuse("'" + name + "' must be a JSON object, got " + v.dump());
    return v;
  }

  // A name from "files" or "tokenizer" must stay inside the checkpoint.
  std::string relative_file(const json& v, const std::string& where) const {
    if (!v.is_string()) refuse("'" + where + "' names a file with " + v.dump());
    const fs::path p(v.get<std::string>());
    bool escapes = p.empty() || p.is_absolute();
    for (const fs::path& part : p) escapes = escapes || part == ".." || part == ".";
    if (escapes) refuse("'" + where + "' names '" + p.string() + "', outside the checkpoint");
    return p.string();
  }

 private:
  std::string path_;
  const json& root_;
};

json parse_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      throw Error(fs::path(path).parent_path().string() + ": no manifest (incomplete write)");
    }
    throw Error(path + ": cannot open for reading");
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::exception& e) {
    throw Error(path + ": not a weft checkpoint manifest (not valid JSON: " + e.what() + ")");
  }
}

}  // namespace

Checkpoint read_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kManifestFile).string();
  const json root = parse_json_file(path);
  const ManifestReader r(path, root);
  if (!root.is_object()) r.refuse("not a weft checkpoint manifest (not a JSON object)");
  const auto format = root.find("format");
  if (format == root.end() || *format != kCheckpointFormat) {
    r.refuse(std::string("not a weft checkpoint manifest (format ") +
             (format == root.end() ? std::string("missing") : format->dump()) + ", expected \"" +
             kCheckpointFormat + "\")");
  }
  const int64_t version = r.integer(r.key("version"), "version");
  if (version != kCheckpointVersion) {
    r.refuse("checkpoint version " + std::to_string(version) + " is not supported (this build " +
             "reads version " + std::to_string(kCheckpointVersion) + ")");
  }

  Checkpoint c;
  c.dir = dir;
  c.manifest = root;
  c.step = r.integer(r.key("step"), "step");
  c.optimizer_step_count = r.integer(r.key("optimizer_step_count"), "optimizer_step_count");
  if (c.step < 0 || c.optimizer_step_count < 0) r.refuse("negative step or optimizer_step_count");
  try {
    c.model_config = model_config_from_json(r.key("model_config"));
    c.model_config.validate();
  } catch (const Error& e) {
    r.refuse(std::string("model_config: ") + e.what());
  }
  c.run_config = r.key("run_config");
  c.data_state = r.key("data_state");
  const json& seed = r.key(r.object(r.key("rng"), "rng"), "seed", "rng.");
  if (!seed.is_number_unsigned())
    r.refuse("'rng.seed' must be an unsigned integer, got " + seed.dump());
  c.seed = seed.get<uint64_t>();

  const json& layout = r.object(r.key("layout"), "layout");
  const int64_t tp = r.integer(r.key(layout, "tp", "layout."), "layout.tp");
  if (tp != 1) {
    r.refuse("written with tensor-parallel size " + std::to_string(tp) +
             "; this build reads tp 1 checkpoints only");
  }
  r.object(r.key("parameters"), "parameters");

  const json& files = r.object(r.key("files"), "files");
  for (auto it = files.begin(); it != files.end(); ++it) {
    r.relative_file(json(it.key()), "files");
    const std::string where = "files." + it.key();
    const json& entry = r.object(it.value(), where);
    if (r.integer(r.key(entry, "bytes", where + "."), where + ".bytes") < 0) {
      r.refuse("'" + where + ".bytes' is negative");
    }
    if (!r.key(entry, "crc32c", where + ".").is_string()) {
      r.refuse("'" + where + ".crc32c' must be a hex string");
    }
  }
  for (const char* required : {kModelFile, kOptimizerFile}) {
    if (!files.contains(required)) r.refuse(std::string("'files' does not list ") + required);
  }
  const json& tokenizer = r.key("tokenizer");
  if (!tokenizer.is_array()) r.refuse("'tokenizer' must be an array of file names");
  for (const json& name : tokenizer) {
    const std::string file = r.relative_file(name, "tokenizer");
    if (!files.contains(std::string(kTokenizerDir) + "/" + file)) {
      r.refuse("'files' does not list the tokenizer file " + file);
    }
    c.tokenizer_files.push_back(file);
  }

  c.model_path = (fs::path(dir) / kModelFile).string();
  c.optimizer_path = (fs::path(dir) / kOptimizerFile).string();
  if (!c.tokenizer_files.empty()) c.tokenizer_dir = (fs::path(dir) / kTokenizerDir).string();
  return c;
}

void verify_files(const Checkpoint& c) {
  const json& files = c.manifest.at("files");
  for (auto it = files.begin(); it != files.end(); ++it) {
    const std::string path = (fs::path(c.dir) / it.key()).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw Error(path + ": missing (listed in " + kManifestFile + ")");
    }
    const uint64_t expected_bytes = it.value().at("bytes").get<uint64_t>();
    const uint64_t bytes = fs::file_size(path, ec);
    if (ec || bytes != expected_bytes) {
      throw Error(path + ": " + std::to_string(bytes) + " bytes, the manifest records " +
                  std::to_string(expected_bytes) + " (truncated or overwritten)");
    }
    const std::string expected_crc = it.value().at("crc32c").get<std::string>();
    const FileDigest digest = digest_file(path);
    if (digest.bytes != expected_bytes || crc_hex(digest.crc) != expected_crc) {
      throw Error(path + ": checksum mismatch (CRC-32C " + crc_hex(digest.crc) +
                  ", the manifest records " + expected_crc + ")");
    }
  }
}

}  // namespace weft::checkpoint
