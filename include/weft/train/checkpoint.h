#pragma once
// Checkpoints of a training run, one directory per saved step:
//
//   RUN/checkpoints/step-00000100/
//     model.safetensors      every parameter's value, by parameter name
//     optimizer.safetensors  AdamW's state tensors, by AdamW::state_tensors() name
//     tokenizer/...          the tokenizer files, copied from the caller's directory
//     manifest.json          written last: format, version, step, optimizer step
//                            count, model config, run config, data-loader state,
//                            seed, layout, parameter shard info, and the size and
//                            CRC-32C of every other file
//
// A save writes into step-00000100.tmp-XXXXXX, fsyncs every file, writes the
// manifest last, renames the directory into place and fsyncs its parent, so a
// crash leaves either a complete checkpoint or a temp directory that no
// reader takes for one. Readers verify every file's size and checksum before
// a tensor is used, and refuse a torn, corrupt or foreign checkpoint by name.
//
// Layout: tensor-parallel size 1 for now (every file holds full tensors), but
// the manifest records each parameter's full shape, shard dimension and
// offset, so that a loader under another layout can re-split them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weft/model/config.h"
#include "weft/model/model.h"
#include "weft/train/adamw.h"

namespace weft {

inline constexpr const char* kCheckpointFormat = "weft-checkpoint";
inline constexpr int kCheckpointVersion = 1;

// What a run saves besides the tensors. Named fields rather than positional
// arguments: run_config and data_state are both JSON and easy to swap.
struct CheckpointState {
  int64_t step = 0;   // optimizer steps taken; names the directory
  uint64_t seed = 0;  // TrainerOptions::seed. Dropout draws from a counter-based
                      // stream keyed by (seed, step, sequence): seed and step
                      // are its whole state.
  nlohmann::json run_config = nlohmann::json::object();  // the effective options, free-form
  nlohmann::json data_state = nlohmann::json::object();  // the loader's position, free-form
  std::string tokenizer_dir;  // its regular files are copied; empty: no tokenizer
  int64_t dp = 1;  // data-parallel ranks: recorded in the layout; the files do not depend on it
};

// A verified checkpoint: load_checkpoint has checked the manifest and the
// size and checksum of every file it lists.
struct Checkpoint {
  std::string dir;
  nlohmann::json manifest;
  int64_t step = 0;
  int64_t optimizer_step_count = 0;
  uint64_t seed = 0;
  ModelConfig model_config;  // parsed and validated
  nlohmann::json run_config;
  nlohmann::json data_state;
  std::string model_path;                    // dir + "/model.safetensors"
  std::string optimizer_path;                // dir + "/optimizer.safetensors"
  std::string tokenizer_dir;                 // dir + "/tokenizer"; empty when none was saved
  std::vector<std::string> tokenizer_files;  // file names inside tokenizer_dir
};

// Writes RUN/checkpoints/step-<step, 8 digits>/ and returns its path. A
// checkpoint of the same step is replaced only once the new one is complete.
// After a successful write: with keep_last > 0, checkpoints of lower steps
// beyond the newest keep_last are deleted (the one just written counts and is
// never deleted; higher steps, left by an abandoned continuation, are not
// touched); and the temp directories of interrupted saves are removed, which
// assumes one writer per run directory (rank 0). A failed write deletes
// nothing and removes its own temp directory. Throws weft::Error naming the
// path and the failing operation, a run_config / data_state that is not
// valid JSON text (strings must be UTF-8), a missing tokenizer directory, or
// a parameter that is a tensor-parallel shard.
std::string save_checkpoint(const std::string& run_dir, Model& model, AdamW& optimizer,
                            const CheckpointState& state, int keep_last = 0);

// The complete checkpoints (a step-N directory holding a manifest) under
// RUN/checkpoints, newest (highest step) first. Nothing is verified; an
// absent run directory has none.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

// The newest checkpoint that load_checkpoint accepts. Each newer one that it
// refuses, and each newer temp directory of an interrupted save, is described
// in *refused (when not null) so the caller can warn, e.g.
//   ".../step-00000200/model.safetensors: checksum mismatch (...)"
//   ".../step-00000300: no manifest (incomplete write)"
//   ".../step-00000400.tmp-Ab12Cd: no manifest (incomplete write: temp directory
//    of an interrupted save)"
// Throws weft::Error naming the run directory when none is usable.
Checkpoint latest_checkpoint(const std::string& run_dir,
                             std::vector<std::string>* refused = nullptr);

// Reads and verifies `dir`: the manifest is a weft checkpoint of a known
// version with every required key, and every file it lists has the recorded
// size and CRC-32C. Throws weft::Error naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& dir);

// Copy the saved tensors into the model's parameters / the optimizer's state,
// by name. A tensor that is missing, extra, of another shape or of another
// dtype is refused by file and tensor name, before anything is copied, e.g.
//   "model.safetensors: decoder.embed_tokens.weight has shape [65, 384], the
//    model expects [80, 384] (RUN/checkpoints/step-00000100/model.safetensors)"
// restore_optimizer also sets the optimizer's step count. Construct the
// Trainer after it (or call Trainer::set_step) so the schedule resumes too.
void restore_model(Model& model, const Checkpoint& checkpoint);
void restore_optimizer(AdamW& optimizer, const Checkpoint& checkpoint);

// "step-00000100": the directory name of a step.
std::string checkpoint_dir_name(int64_t step);

}  // namespace weft
