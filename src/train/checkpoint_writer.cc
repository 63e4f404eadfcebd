// save_checkpoint: write everything into a temp directory, manifest last,
// then make it visible with one rename. Old checkpoints are deleted only
// after the new one is durable.

#include <fcntl.h>  // AT_FDCWD
#include <stdio.h>  // renameat2, RENAME_EXCHANGE

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "train/checkpoint_internal.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;

namespace {

// Removes the temp directory unless the save got as far as renaming it.
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string path) : path_(std::move(path)) {}
  ~TempDirGuard() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);  // best effort: an exception is already on its way
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::vector<const Parameter*> full_parameters(Model& model) {
  std::vector<const Parameter*> out;
  for (const Parameter* p : model.parameters()) {
    if (p->shard_dim >= 0 || p->value.shape() != p->full_shape) {
      throw Error("save_checkpoint: parameter " + p->name + " is a tensor-parallel shard (" +
                  shape_str(p->value.shape()) + " of " + shape_str(p->full_shape) +
                  "); this build writes tp 1 checkpoints only");
    }
    out.push_back(p);
  }
  return out;
}

// The regular files of the caller's tokenizer directory, by name.
std::vector<std::string> tokenizer_files(const std::string& dir) {
  std::vector<std::string> names;
  if (dir.empty()) return names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error("save_checkpoint: tokenizer directory '" + dir + "' does not exist");
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Renames `temp` to `final_dir`. An existing checkpoint there (the same step,
// saved again) is swapped out atomically into `temp`, which rotate() removes.
void move_into_place(const std::string& temp, const std::string& final_dir) {
  std::error_code ec;
  if (!fs::exists(final_dir, ec)) {
    if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
      throw Error(final_dir + ": cannot rename " + temp + " into place: " + std::strerror(errno));
    }
    return;
  }
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0) {
    throw Error(final_dir + ": cannot exchange it with " + temp + ": " + std::strerror(errno));
  }
}

// Keeps the newest keep_last checkpoints up to `step` (the one just written
// among them), and removes temp directories of interrupted saves.
void rotate(const std::string& checkpoints_dir, int64_t step, int keep_last) {
  int kept = 1;  // the checkpoint just written
  for (const StepDir& d : scan_step_dirs(checkpoints_dir)) {
    if (d.temp) {
      remove_checkpoint_dir(d.path);
    } else if (d.step < step && keep_last > 0 && fs::exists(fs::path(d.path) / kManifestFile)) {
      if (++kept > keep_last) remove_checkpoint_dir(d.path);
    }
  }
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(step));
  return name;
}

std::string save_checkpoint(const std::string& run_dir, Model& model, AdamW& optimizer,
                            const CheckpointState& state, int keep_last) {
  if (state.step < 0)
    throw Error("save_checkpoint: step must be >= 0, got " + std::to_string(state.step));
  // Refused before any I/O: JSON strings must be UTF-8, or the manifest cannot be written.
  for (const auto& [key, value] :
       {std::pair{"run_config", &state.run_config}, std::pair{"data_state", &state.data_state}}) {
    try {
      (void)value->dump();
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("save_checkpoint: ") + key +
                  " cannot be written as JSON: " + e.what());
    }
  }
  const std::vector<const Parameter*> params = full_parameters(model);
  const std::vector<std::string> tokenizer = tokenizer_files(state.tokenizer_dir);

  const std::string checkpoints = checkpoints_dir_of(run_dir);
  std::error_code ec;
  if (!fs::is_directory(checkpoints, ec)) {
    fs::create_directories(checkpoints, ec);
    if (ec) throw Error(checkpoints + ": cannot create: " + ec.message());
    fsync_directory(run_dir);
  }
  const std::string name = checkpoint_dir_name(state.step);
  const std::string final_dir = (fs::path(checkpoints) / name).string();
  const std::string temp =
      make_temp_directory((fs::path(checkpoints) / name).string() + kTempMarker);
  TempDirGuard guard(temp);

  // save_safetensors fsyncs each file and the directory it renames it in.
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const Parameter* p : params) tensors.emplace_back(p->name, p->value);
  const SafetensorsMetadata metadata = {{"format", "pt"},
                                        {"weft.step", std::to_string(state.step)}};
  save_safetensors((fs::path(temp) / kModelFile).string(), tensors, metadata);
  tensors.clear();
  for (const NamedTensor& t : optimizer.state_tensors()) tensors.emplace_back(t.name, *t.tensor);
  save_safetensors((fs::path(temp) / kOptimizerFile).string(), tensors, metadata);
  tensors.clear();

  std::vector<std::string> written = {kModelFile, kOptimizerFile};
  if (!tokenizer.empty()) {
    const fs::path dir = fs::path(temp) / kTokenizerDir;
    fs::create_directory(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create: " + ec.message());
    for (const std::string& file : tokenizer) {
      copy_file_durably((fs::path(state.tokenizer_dir) / file).string(), (dir / file).string());
      written.push_back(std::string(kTokenizerDir) + "/" + file);
    }
    fsync_directory(dir.string());
  }

  // Checksums of what the files hold after the write, read back.
  ManifestInputs in;
  in.state = &state;
  in.model = &model;
  in.parameters = params;
  in.optimizer_step_count = optimizer.step_count();
  in.tokenizer_files = tokenizer;
  in.files = nlohmann::json::object();
  for (const std::string& file : written) {
    const FileDigest d = digest_file((fs::path(temp) / file).string());
    in.files[file] = {{"bytes", d.bytes}, {"crc32c", crc_hex(d.crc)}};
  }
  write_file_durably((fs::path(temp) / kManifestFile).string(), build_manifest(in).dump(2) + "\n");
  fsync_directory(temp);

  move_into_place(temp, final_dir);
  guard.release();
  fsync_directory(checkpoints);
  rotate(checkpoints, state.step, keep_last);
  return final_dir;
}

}  // namespace weft
