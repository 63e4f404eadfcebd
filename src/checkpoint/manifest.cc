// manifest.json: what a checkpoint holds and how to check it. Reading refuses
// anything that is not a version-1 weft checkpoint with every key present,
// naming the manifest and the key, before any other file is opened.

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/checkpoint_internal.h"
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
                           {"shard_dim", p->shard_dim}};
    if (p->padded_rows > 0) parameters[p->name]["padded_rows"] = p->padded_rows;
  }
  json shards = json::array();
  for (int64_t t = 0; t < in.tp; ++t) {
    json shard = {{"model", checkpoint_shard_file_name("model", t, in.tp)}};
    if (in.optimizer_parts > 0) {
      // A distributed optimizer's state: one flat part per data-parallel rank.
      json parts = json::array();
      for (int64_t d = 0; d < in.optimizer_parts; ++d) {
        parts.push_back(checkpoint_part_file_name(t, in.tp, d, in.optimizer_parts));
      }
      shard["optimizer_parts"] = parts;
    } else {
      shard["optimizer"] = checkpoint_shard_file_name("optimizer", t, in.tp);
    }
    shards.push_back(shard);
  }
  return {{"format", kCheckpointFormat},
          {"version", kCheckpointVersion},
          {"step", state.step},
          {"optimizer_step_count", in.optimizer_step_count},
          {"model_config", to_json(in.model->config())},
          {"run_config", state.run_config},
          {"data_state", state.data_state},
          {"rng", {{"seed", state.seed}}},
          // Shard t holds [t·n/tp, (t+1)·n/tp) of each parameter along its
          // shard_dim, and the parameters with shard_dim -1 whole.
          {"layout", in.optimizer_parts > 0
                         ? json{{"tp", in.tp}, {"dp", in.dp}, {"zero", 1}}
                         : json{{"tp", in.tp}, {"dp", in.dp}}},
          {"shards", shards},
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
    // JSON holds unsigned integers up to 2^64 - 1; int64 stops at 2^63 - 1.
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
      refuse("'" + name + "' is " + v.dump() + ", above the largest integer a checkpoint holds " +
             "(2^63 - 1)");
    }
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

// A file name inside the checkpoint that "files" lists.
std::string listed_file(const ManifestReader& r, const json& name, const std::string& where,
                        const json& files) {
  const std::string file = r.relative_file(name, where);
  if (!files.contains(file)) r.refuse("'files' does not list " + file);
  return file;
}

// One shard's file of `kind`.
std::string shard_file(const ManifestReader& r, const json& shard, const char* kind,
                       const std::string& where, const json& files) {
  return listed_file(r, r.key(shard, kind, where + "."), where + "." + kind, files);
}

// "layout", "shards" and "parameters". A manifest written before sharding
// has no "shards": tp 1, with model.safetensors and optimizer.safetensors.
void read_layout(const ManifestReader& r, const json& root, Checkpoint& c) {
  const json& layout = r.object(r.key("layout"), "layout");
  c.tp = r.integer(r.key(layout, "tp", "layout."), "layout.tp");
  c.dp = r.integer(r.key(layout, "dp", "layout."), "layout.dp");
  if (c.tp < 1 || c.dp < 1) {
    r.refuse("'layout' must have tp >= 1 and dp >= 1, got " + layout.dump());
  }
  json shards = json::array({{{"model", checkpoint_shard_file_name("model", 0, 1)},
                              {"optimizer", checkpoint_shard_file_name("optimizer", 0, 1)}}});
  if (root.contains("shards") || c.tp != 1) shards = r.key("shards");
  if (!shards.is_array() || static_cast<int64_t>(shards.size()) != c.tp) {
    r.refuse("'shards' must list layout.tp = " + std::to_string(c.tp) + " shards, got " +
             shards.dump());
  }
  const json& files = root.at("files");
  for (size_t t = 0; t < shards.size(); ++t) {
    const std::string where = "shards[" + std::to_string(t) + "]";
    const json& shard = r.object(shards[t], where);
    CheckpointShard s;
    s.model_path = (fs::path(c.dir) / shard_file(r, shard, "model", where, files)).string();
    if (shard.contains("optimizer_parts")) {
      // Written by a distributed optimizer (ZeRO-1): flat parts, one per dp rank.
      const json& parts = shard.at("optimizer_parts");
      if (!parts.is_array() || parts.empty()) {
        r.refuse("'" + where + ".optimizer_parts' must be a non-empty array of file names");
      }
      for (size_t k = 0; k < parts.size(); ++k) {
        const std::string where_k = where + ".optimizer_parts[" + std::to_string(k) + "]";
        s.optimizer_parts.push_back((fs::path(c.dir) / listed_file(r, parts[k], where_k, files)).string());
      }
    } else {
      s.optimizer_path = (fs::path(c.dir) / shard_file(r, shard, "optimizer", where, files)).string();
    }
    c.shards.push_back(s);
  }

  const json& parameters = r.object(r.key("parameters"), "parameters");
  for (auto it = parameters.begin(); it != parameters.end(); ++it) {
    const std::string where = "parameters." + it.key();
    const json& entry = r.object(it.value(), where);
    SavedParameter p;
    const json& full_shape = r.key(entry, "full_shape", where + ".");
    if (!full_shape.is_array()) r.refuse("'" + where + ".full_shape' must be an array");
    for (const json& n : full_shape) {
      p.full_shape.push_back(r.integer(n, where + ".full_shape"));
      if (p.full_shape.back() < 0) r.refuse("'" + where + ".full_shape' has a negative size");
    }
    const int64_t dim = r.integer(r.key(entry, "shard_dim", where + "."), where + ".shard_dim");
    if (dim < -1 || dim >= static_cast<int64_t>(p.full_shape.size()) ||
        (dim >= 0 && p.full_shape[dim] % c.tp != 0)) {
      r.refuse("'" + where + ".shard_dim' " + std::to_string(dim) + " does not split " +
               shape_str(p.full_shape) + " into tp = " + std::to_string(c.tp) + " shards");
    }
    p.shard_dim = static_cast<int>(dim);
    // Written only for a padded vocabulary table; absent: none.
    if (entry.contains("padded_rows")) {
      p.padded_rows = r.integer(entry.at("padded_rows"), where + ".padded_rows");
      if (p.full_shape.empty() || p.padded_rows < 0 || p.padded_rows >= p.full_shape[0]) {
        r.refuse("'" + where + ".padded_rows' " + std::to_string(p.padded_rows) +
                 " is not a number of rows below " + shape_str(p.full_shape) + "'s first");
      }
    }
    c.parameters[it.key()] = p;
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
  // A copied or renamed step directory would resume at, and never prune,
  // another step than its name says.
  fs::path named(dir);
  if (named.filename().empty()) named = named.parent_path();  // "…/step-00000005/"
  int64_t named_step = 0;
  bool temp = false;
  if (parse_step_name(named.filename().string(), named_step, temp) && !temp &&
      named_step != c.step) {
    r.refuse("the directory is named for step " + std::to_string(named_step) +
             " but its manifest holds step " + std::to_string(c.step));
  }
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
  read_layout(r, root, c);
  const json& tokenizer = r.key("tokenizer");
  if (!tokenizer.is_array()) r.refuse("'tokenizer' must be an array of file names");
  for (const json& name : tokenizer) {
    const std::string file = r.relative_file(name, "tokenizer");
    if (!files.contains(std::string(kTokenizerDir) + "/" + file)) {
      r.refuse("'files' does not list the tokenizer file " + file);
    }
    c.tokenizer_files.push_back(file);
  }

  if (!c.tokenizer_files.empty()) c.tokenizer_dir = (fs::path(dir) / kTokenizerDir).string();
  // Written by an average only; absent: the run directory keeps it.
  if (root.contains("source_tokenizer")) {
    const json& source = root.at("source_tokenizer");
    if (!source.is_array()) r.refuse("'source_tokenizer' must be an array of file names");
    for (const json& name : source) {
      const std::string file = r.relative_file(name, "source_tokenizer");
      if (!files.contains(std::string(kSourceTokenizerDir) + "/" + file)) {
        r.refuse("'files' does not list the source tokenizer file " + file);
      }
      c.source_tokenizer_files.push_back(file);
    }
    c.source_tokenizer_dir = (fs::path(dir) / kSourceTokenizerDir).string();
  }
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
