// save_checkpoint: every rank of data-parallel replica 0 writes its shard
// into a temp directory, then world rank 0 writes the manifest last and makes
// the directory visible with one rename. Old checkpoints are deleted only
// after the new one is durable.

#include <fcntl.h>  // AT_FDCWD
#include <stdio.h>  // renameat2, RENAME_EXCHANGE

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;

namespace {

// Every parameter, checked to be tensor-parallel rank t's slice as the shard
// files record it: [t·n/tp, (t+1)·n/tp) along its shard dimension.
std::vector<const Parameter*> checked_parameters(Model& model, const ProcessGroups& groups) {
  const int64_t tp = groups.tp_size(), rank = groups.tp_rank();
  std::vector<const Parameter*> out;
  for (const Parameter* p : model.parameters()) {
    const Shape expected = shard_shape(p->full_shape, p->shard_dim, tp);
    const int64_t offset = p->shard_dim < 0 ? 0 : rank * expected[p->shard_dim];
    if (p->value.shape() != expected || (p->shard_dim >= 0 && p->shard_offset != offset)) {
      throw Error("save_checkpoint: parameter " + p->name + " holds " +
                  shape_str(p->value.shape()) + " at offset " + std::to_string(p->shard_offset) +
                  " of " + shape_str(p->full_shape) + ", but tensor-parallel rank " +
                  std::to_string(rank) + " of " + std::to_string(tp) + " holds " +
                  shape_str(expected) + " at offset " + std::to_string(offset) +
                  "; pass save_checkpoint the ProcessGroups the model was built with");
    }
    out.push_back(p);
  }
  return out;
}

// Refused before any I/O: JSON strings must be UTF-8, or the manifest cannot be written.
void check_state(const CheckpointState& state) {
  if (state.step < 0)
    throw Error("save_checkpoint: step must be >= 0, got " + std::to_string(state.step));
  for (const auto& [key, value] :
       {std::pair{"run_config", &state.run_config}, std::pair{"data_state", &state.data_state}}) {
    try {
      (void)value->dump();
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("save_checkpoint: ") + key +
                  " cannot be written as JSON: " + e.what());
    }
  }
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
    rename_path(temp, final_dir);
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

// This rank's shard files, named for its tensor-parallel rank: the model and
// an ordinary optimizer's state from replica 0, a distributed optimizer's
// part from every rank.
void write_shard(const std::string& temp, const std::vector<const Parameter*>& params,
                 AdamW& optimizer, const ProcessGroups& groups, int64_t step) {
  const int64_t tp = groups.tp_size(), rank = groups.tp_rank();
  const SafetensorsMetadata metadata = {{"format", "pt"},
                                        {"weft.step", std::to_string(step)},
                                        {"weft.tp_rank", std::to_string(rank)},
                                        {"weft.tp", std::to_string(tp)}};
  // save_safetensors fsyncs each file and the directory it renames it in.
  std::vector<std::pair<std::string, Tensor>> tensors;
  const bool replica_zero = groups.dp_rank() == 0;
  if (replica_zero) {
    for (const Parameter* p : params) tensors.emplace_back(p->name, p->value);
    save_safetensors((fs::path(temp) / checkpoint_shard_file_name("model", rank, tp)).string(),
                     tensors, metadata);
  }
  tensors.clear();
  nlohmann::json ranges = nlohmann::json::object();
  for (const NamedTensor& t : optimizer.state_tensors()) {
    tensors.emplace_back(t.name, *t.tensor);
    if (t.flat) ranges[t.parameter->name] = {t.range.begin, t.range.end};
  }
  if (!optimizer.distributed()) {
    if (!replica_zero) return;
    save_safetensors(
        (fs::path(temp) / checkpoint_shard_file_name("optimizer", rank, tp)).string(), tensors,
        metadata);
    return;
  }
  SafetensorsMetadata part_metadata = metadata;
  part_metadata[kPartRangesKey] = ranges.dump();
  part_metadata["weft.dp_rank"] = std::to_string(groups.dp_rank());
  part_metadata["weft.dp"] = std::to_string(groups.dp_size());
  save_safetensors((fs::path(temp) / checkpoint_part_file_name(rank, tp, groups.dp_rank(),
                                                               groups.dp_size()))
                       .string(),
                   tensors, part_metadata);
}

// The manifest, with the size and checksum of every file as read back after
// the write; written last, so that a directory with one is complete.
void write_manifest(const std::string& temp, ManifestInputs in) {
  std::vector<std::string> written;
  for (int64_t t = 0; t < in.tp; ++t) {
    written.push_back(checkpoint_shard_file_name("model", t, in.tp));
    if (in.optimizer_parts == 0) written.push_back(checkpoint_shard_file_name("optimizer", t, in.tp));
    for (int64_t d = 0; d < in.optimizer_parts; ++d) {
      written.push_back(checkpoint_part_file_name(t, in.tp, d, in.optimizer_parts));
    }
  }
  for (const std::string& file : in.tokenizer_files) {
    written.push_back(std::string(kTokenizerDir) + "/" + file);
  }
  in.files = nlohmann::json::object();
  for (const std::string& file : written) {
    const FileDigest d = digest_file((fs::path(temp) / file).string());
    in.files[file] = {{"bytes", d.bytes}, {"crc32c", crc_hex(d.crc)}};
  }
  // Its rename into `temp` is fsynced with `temp` itself.
  write_file_atomically((fs::path(temp) / kManifestFile).string(),
                        build_manifest(in).dump(2) + "\n");
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(step));
  return name;
}

std::string checkpoint_shard_file_name(const std::string& kind, int64_t tp_rank, int64_t tp) {
  if (tp == 1) return kind + ".safetensors";
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), "-tp%02lld-of-%02lld.safetensors",
                static_cast<long long>(tp_rank), static_cast<long long>(tp));
  return kind + suffix;
}

std::string checkpoint_part_file_name(int64_t tp_rank, int64_t tp, int64_t dp_rank, int64_t dp) {
  std::string name = checkpoint_shard_file_name("optimizer", tp_rank, tp);
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), "-dp%02lld-of-%02lld", static_cast<long long>(dp_rank),
                static_cast<long long>(dp));
  return name.insert(name.size() - std::string(".safetensors").size(), suffix);
}

std::string save_checkpoint(const std::string& run_dir, Model& model, AdamW& optimizer,
                            const CheckpointState& state, int keep_last,
                            const ProcessGroups& groups) {
  Communicator& world = *groups.world;
  const bool root = world.rank() == 0;
  const std::string checkpoints = checkpoints_dir_of(run_dir);
  const std::string final_dir = (fs::path(checkpoints) / checkpoint_dir_name(state.step)).string();
  const std::string temp_prefix = final_dir + kTempMarker;

  // 1. Every rank checks what it would write; the root makes the temp directory.
  std::vector<const Parameter*> params;
  std::vector<std::string> tokenizer;
  std::string temp;
  std::optional<TempDirGuard> guard;  // the root's; removes the temp directory on failure
  agree_on_phase(world, "checking what to save in " + final_dir, [&] {
    check_state(state);
    params = checked_parameters(model, groups);
    if (!root) return;
    tokenizer = tokenizer_files(state.tokenizer_dir);
    std::error_code ec;
    if (!fs::is_directory(checkpoints, ec)) {
      fs::create_directories(checkpoints, ec);
      if (ec) throw Error(checkpoints + ": cannot create: " + ec.message());
      fsync_directory(run_dir);
    }
    temp = make_temp_directory(temp_prefix);
    guard.emplace(temp);
  });
  temp = share_temp_directory(world, temp_prefix, temp);

  // 2. Each rank of replica 0 writes its shard (with a distributed optimizer,
  // every rank its part); the root copies the tokenizer.
  agree_on_phase(world, "writing its files into " + temp, [&] {
    write_shard(temp, params, optimizer, groups, state.step);
    if (root) copy_files_into(state.tokenizer_dir, tokenizer, temp, kTokenizerDir);
  });

  // 3. Every shard is durable: the root writes the manifest and makes the
  // checkpoint visible. The agreement also keeps every rank until it is.
  agree_on_phase(world, "publishing " + final_dir, [&] {
    if (!root) return;
    ManifestInputs in;
    in.state = &state;
    in.model = &model;
    in.parameters = params;
    in.tp = groups.tp_size();
    in.dp = groups.dp_size();
    in.optimizer_step_count = optimizer.step_count();
    in.optimizer_parts = optimizer.distributed() ? groups.dp_size() : 0;
    in.tokenizer_files = tokenizer;
    write_manifest(temp, in);
    move_into_place(temp, final_dir);
    guard->release();
    fsync_directory(checkpoints);
    rotate(checkpoints, state.step, keep_last);
  });
  return final_dir;
}

}  // namespace weft
