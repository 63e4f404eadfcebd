// average_checkpoints: the element-wise mean of several checkpoints'
// parameters, taken shard file by shard file, written the way save_checkpoint
// writes a checkpoint (temp directory, manifest last, one rename). What the
// average holds besides its parameters is stated at the declaration
// (weft/checkpoint/checkpoint.h): the newest input's other state.

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "checkpoint/checkpoint_internal.h"
#include "weft/backend/elementwise.h"
#include "weft/model/config_json.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;
using nlohmann::json;

namespace {

constexpr const char* kMasterSuffix = ".master";

// The first key at which two JSON objects differ, as "d_model: 32 here, 16 in
// the newest"; empty when they are equal.
std::string first_difference(const json& here, const json& newest) {
  for (auto it = newest.begin(); it != newest.end(); ++it) {
    if (!here.contains(it.key())) {
      return it.key() + ": absent here, " + it.value().dump() + " in the newest";
    }
    if (here.at(it.key()) != it.value()) {
      return it.key() + ": " + here.at(it.key()).dump() + " here, " + it.value().dump() +
             " in the newest";
    }
  }
  for (auto it = here.begin(); it != here.end(); ++it) {
    if (!newest.contains(it.key())) {
      return it.key() + ": " + it.value().dump() + " here, absent in the newest";
    }
  }
  return "";
}

// {file name: {"bytes", "crc32c"}} of the target tokenizer, from the
// (verified) manifest.
json tokenizer_digests(const Checkpoint& c) {
  json out = json::object();
  for (const std::string& file : c.tokenizer_files) {
    out[file] = c.manifest.at("files").at(std::string(kTokenizerDir) + "/" + file);
  }
  return out;
}

// The same for the encoder's tokenizer of separate vocabularies, read from
// its directory (a run keeps it outside its checkpoints).
json source_tokenizer_digests(const Checkpoint& c) {
  json out = json::object();
  const std::string dir = source_tokenizer_dir_of(c);
  if (dir.empty()) return out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(dir + ": missing: checkpoint " + c.dir + " has separate source and target " +
                "vocabularies and its source tokenizer is kept there");
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file(ec)) continue;
    const FileDigest d = digest_file(entry.path().string());
    out[entry.path().filename().string()] = {{"bytes", d.bytes}, {"crc32c", crc_hex(d.crc)}};
  }
  return out;
}

// Refuses a checkpoint whose parameters cannot be averaged with the newest's.
void check_compatible(const Checkpoint& c, const Checkpoint& newest, const json& source_digests) {
  const auto refuse = [&](const std::string& what) {
    throw Error("checkpoint " + c.dir + " cannot be averaged with the newest, " + newest.dir +
                ": " + what);
  };
  const std::string config =
      first_difference(to_json(c.model_config), to_json(newest.model_config));
  if (!config.empty()) refuse("its model config differs (" + config + ")");
  if (c.tp != newest.tp) {
    refuse("it is split over tensor-parallel size " + std::to_string(c.tp) + ", the newest over " +
           std::to_string(newest.tp) + " (each shard file is averaged with its twin)");
  }
  const std::string params =
      first_difference(c.manifest.at("parameters"), newest.manifest.at("parameters"));
  if (!params.empty()) refuse("its saved parameters differ (" + params + ")");
  const std::string tokenizer = first_difference(tokenizer_digests(c), tokenizer_digests(newest));
  if (!tokenizer.empty()) refuse("its tokenizer differs (" + tokenizer + ")");
  const std::string source = first_difference(source_tokenizer_digests(c), source_digests);
  if (!source.empty()) refuse("its source tokenizer differs (" + source + ")");
}

// Each shard's optimizer state whole: its file, or a distributed optimizer's parts joined.
SafetensorsFile optimizer_file(const Checkpoint& c, int64_t shard) {
  const CheckpointShard& s = c.shards[shard];
  return s.optimizer_parts.empty() ? load_safetensors(s.optimizer_path)
                                   : assemble_optimizer_parts(s.optimizer_parts, c, shard);
}

// `file` holds `name` as `like` does (the newest's tensor of that name).
const Tensor& tensor_like(const SafetensorsFile& file, const std::string& name, const Tensor& like,
                          const std::string& newest_path) {
  const Tensor* t = file.find(name);
  if (t == nullptr) {
    throw Error(file.path + ": has no tensor " + name + ", which " + newest_path + " holds");
  }
  if (t->shape() != like.shape() || t->dtype() != like.dtype()) {
    throw Error(file.path + ": " + name + " is " + safetensors_dtype_name(t->dtype()) +
                shape_str(t->shape()) + ", " + newest_path + " holds " +
                safetensors_dtype_name(like.dtype()) + shape_str(like.shape()));
  }
  return *t;
}

void add_to(std::vector<double>& sum, const Tensor& t) {
  const std::vector<double> values = t.to_double_vector();
  if (sum.empty()) sum.assign(values.size(), 0.0);
  for (size_t i = 0; i < values.size(); ++i) sum[i] += values[i];
}

// sum / n stored as `dtype`: f32 by rounding the double, bf16 by rounding
// that f32 (as a bf16 run rounds its masters).
Tensor mean_as(const std::vector<double>& sum, double n, const Shape& shape, DType dtype) {
  if (dtype == DType::F64) {
    Tensor out = Tensor::empty(shape, DType::F64);
    for (size_t i = 0; i < sum.size(); ++i) out.data<double>()[i] = sum[i] / n;
    return out;
  }
  Tensor f32 = Tensor::empty(shape, DType::F32);
  float* values = f32.data<float>();
  for (size_t i = 0; i < sum.size(); ++i) values[i] = static_cast<float>(sum[i] / n);
  if (dtype == DType::F32) return f32;
  WEFT_CHECK(dtype == DType::BF16, "average_checkpoints: cannot average ", dtype_name(dtype),
             " tensors");
  Tensor out = Tensor::empty(shape, dtype);
  ops::convert(f32, out);
  return out;
}

// Shard `shard` of the average, written into `temp`: the mean of every
// model tensor over `inputs` (oldest first), and the newest's optimizer
// state with a bf16 run's masters (its exact weights) replaced by their mean,
// from which the bf16 values are rounded.
void average_shard(const std::vector<Checkpoint>& inputs, int64_t shard, const std::string& temp) {
  const Checkpoint& newest = inputs.back();
  const SafetensorsFile model = load_safetensors(newest.shards[shard].model_path);
  SafetensorsFile optimizer = optimizer_file(newest, shard);
  std::set<std::string> mastered;
  for (const auto& [name, tensor] : model.tensors) {
    if (optimizer.find(name + kMasterSuffix) != nullptr) mastered.insert(name);
  }

  std::map<std::string, std::vector<double>> sums;  // by tensor name in the files
  for (const Checkpoint& c : inputs) {
    const SafetensorsFile file = load_safetensors(c.shards[shard].model_path);
    if (file.tensors.size() != model.tensors.size()) {
      throw Error(file.path + ": holds " + std::to_string(file.tensors.size()) + " tensors, " +
                  model.path + " holds " + std::to_string(model.tensors.size()));
    }
    for (const auto& [name, like] : model.tensors) {
      const Tensor& t = tensor_like(file, name, like, model.path);
      if (!mastered.count(name)) add_to(sums[name], t);
    }
    if (mastered.empty()) continue;
    const SafetensorsFile states = optimizer_file(c, shard);
    for (const std::string& name : mastered) {
      const std::string master = name + kMasterSuffix;
      add_to(sums[master], tensor_like(states, master, optimizer.at(master), optimizer.path));
    }
  }

  const double n = static_cast<double>(inputs.size());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, like] : model.tensors) {
    const std::vector<double>& sum = sums.at(mastered.count(name) ? name + kMasterSuffix : name);
    tensors.emplace_back(name, mean_as(sum, n, like.shape(), like.dtype()));
  }
  save_safetensors(
      (fs::path(temp) / checkpoint_shard_file_name("model", shard, newest.tp)).string(), tensors,
      model.metadata);
  tensors.clear();
  for (auto& [name, tensor] : optimizer.tensors) {
    const auto sum = sums.find(name);
    tensors.emplace_back(
        name, sum == sums.end() ? tensor : mean_as(sum->second, n, tensor.shape(), tensor.dtype()));
  }
  // Parts are joined into one file, which carries the model file's metadata
  // as save_checkpoint's optimizer files do.
  const bool joined = newest.shards[shard].optimizer_path.empty();
  save_safetensors(
      (fs::path(temp) / checkpoint_shard_file_name("optimizer", shard, newest.tp)).string(),
      tensors, joined ? model.metadata : optimizer.metadata);
}

// out_dir without a trailing slash; refused unless absent or empty, or when
// named for another step than the average holds (load_checkpoint would
// refuse it).
fs::path checked_out_dir(const std::string& out_dir, int64_t step) {
  fs::path out = fs::path(out_dir).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  WEFT_CHECK(!out.empty() && out.filename() != "." && out.filename() != "..",
             "average_checkpoints: '", out_dir, "' is no directory name to write");
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec) || !fs::is_empty(out, ec)) {
      throw Error(out.string() + ": already exists and is not an empty directory; averaging " +
                  "overwrites nothing: choose another output directory");
    }
  }
  int64_t named_step = 0;
  bool temp = false;
  if (parse_step_name(out.filename().string(), named_step, temp) && (temp || named_step != step)) {
    throw Error(out.string() + ": is named for step " + std::to_string(named_step) +
                ", but the average holds the newest checkpoint's step " + std::to_string(step) +
                "; name it " + checkpoint_dir_name(step) + " or anything not starting with step-");
  }
  return out;
}

// The nearest missing ancestor of `dir` (itself included), created with
// everything below it; empty when `dir` exists.
std::string create_parents(const fs::path& dir) {
  std::error_code ec;
  fs::path first_missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) first_missing = p;
  if (first_missing.empty()) return "";
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create: " + ec.message());
  return first_missing.string();
}

}  // namespace

Checkpoint average_checkpoints(const std::vector<std::string>& checkpoint_dirs,
                               const std::string& out_dir) {
  WEFT_CHECK(!checkpoint_dirs.empty(), "average_checkpoints: no checkpoint to average");
  std::vector<Checkpoint> inputs;
  std::set<fs::path> seen;
  for (const std::string& dir : checkpoint_dirs) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(dir, ec);
    if (!seen.insert(ec ? fs::path(dir) : canonical).second) {
      throw Error("checkpoint " + dir + " is named twice: each checkpoint is averaged once");
    }
    inputs.push_back(load_checkpoint(dir));  // every file's size and checksum, by name
  }
  std::stable_sort(inputs.begin(), inputs.end(),
                   [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
  const Checkpoint& newest = inputs.back();
  const json source_digests = source_tokenizer_digests(newest);
  for (const Checkpoint& c : inputs) check_compatible(c, newest, source_digests);
  const fs::path out = checked_out_dir(out_dir, newest.step);

  // Everything is checked; from here on only out_dir's temp twin (and any
  // missing parents) is written, and removed on failure.
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  TempDirGuard parents_guard(create_parents(parent));
  const std::string temp = make_temp_directory(out.string() + kTempMarker);
  TempDirGuard temp_guard(temp);

  std::vector<std::string> written;
  for (int64_t t = 0; t < newest.tp; ++t) {
    average_shard(inputs, t, temp);
    written.push_back(checkpoint_shard_file_name("model", t, newest.tp));
    written.push_back(checkpoint_shard_file_name("optimizer", t, newest.tp));
  }
  for (const std::string& f :
       copy_files_into(newest.tokenizer_dir, newest.tokenizer_files, temp, kTokenizerDir)) {
    written.push_back(f);
  }
  std::vector<std::string> source_files;
  for (auto it = source_digests.begin(); it != source_digests.end(); ++it) {
    source_files.push_back(it.key());
  }
  for (const std::string& f :
       copy_files_into(source_tokenizer_dir_of(newest), source_files, temp, kSourceTokenizerDir)) {
    written.push_back(f);
  }

  json manifest = newest.manifest;
  manifest.erase("source_tokenizer");
  if (!source_files.empty()) manifest["source_tokenizer"] = source_files;
  manifest["layout"] = {{"tp", newest.tp}, {"dp", newest.dp}};  // no distributed parts
  json shards = json::array();
  for (int64_t t = 0; t < newest.tp; ++t) {
    shards.push_back({{"model", checkpoint_shard_file_name("model", t, newest.tp)},
                      {"optimizer", checkpoint_shard_file_name("optimizer", t, newest.tp)}});
  }
  manifest["shards"] = shards;
  json steps = json::array(), dirs = json::array();
  for (const Checkpoint& c : inputs) {
    steps.push_back(c.step);
    dirs.push_back(fs::absolute(c.dir).lexically_normal().string());
  }
  manifest["average"] = {{"steps", steps}, {"checkpoints", dirs}};
  json files = json::object();
  for (const std::string& file : written) {
    const FileDigest d = digest_file((fs::path(temp) / file).string());
    files[file] = {{"bytes", d.bytes}, {"crc32c", crc_hex(d.crc)}};
  }
  manifest["files"] = files;
  write_file_atomically((fs::path(temp) / kManifestFile).string(), manifest.dump(2) + "\n");

  rename_path(temp, out.string());  // onto an empty out_dir too
  temp_guard.release();
  parents_guard.release();
  fsync_directory(parent.string());
  return load_checkpoint(out.string());
}

}  // namespace weft
