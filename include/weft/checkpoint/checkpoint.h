#pragma once
// Checkpoints of a training run, one directory per saved step. Under a
// tensor-parallel size of 2:
//
//   RUN/checkpoints/step-00000100/
//     model-tp00-of-02.safetensors      tp rank 0's parameters, by parameter name
//     model-tp01-of-02.safetensors      tp rank 1's
//     optimizer-tp00-of-02.safetensors  tp rank 0's AdamW state, by AdamW::state_tensors() name
//     optimizer-tp01-of-02.safetensors
//     tokenizer/...      the tokenizer files, copied from the caller's directory
//     tokenizer_src/...  an average's only: the encoder's tokenizer of separate
//                        vocabularies (a run keeps it in RUN/tokenizer_src)
//     manifest.json      written last: format, version, step, optimizer step count,
//                        model config, run config, data-loader state, seed, the
//                        layout {tp, dp}, the shard files of each tp rank, each
//                        parameter's full shape and shard dimension, and the size
//                        and CRC-32C of every other file
//
// With tp 1 the files are model.safetensors and optimizer.safetensors, as
// before sharding existed, and hold full tensors. Shard file t holds exactly
// what tensor-parallel rank t of data-parallel replica 0 holds: along its
// parameter's shard dimension the slice [t·n/tp, (t+1)·n/tp) (n the full
// size), and every replicated parameter whole (written in every shard; a
// loader reads it from shard 0). AdamW's moments split like their parameter.
// Other replicas write nothing: their state equals replica 0's.
//
// A distributed optimizer (ZeRO-1, AdamW::distributed) is saved sharded: every
// data-parallel rank writes the ranges it owns, flat, into
// optimizer-tp00-of-02-dp01-of-04.safetensors (tp 1: optimizer-dp01-of-04),
// with the ranges in the file's metadata; the manifest lists the parts in
// place of the shard's optimizer file. A loader assembles each shard's states
// from the parts, then re-splits as above, so such a checkpoint loads with
// ZeRO on or off under any dp, and an ordinary one into a ZeRO run.
//
// A loader under any layout re-splits on load: each rank reads shard 0 and
// the shard files that overlap its own slices, and copies exactly those
// slices, so a checkpoint written by 2×2 ranks restores into 1×1, 1×4 or 4×1
// ranks, and a merged (single-rank) model, as `weft export` builds, is the
// same whatever layout trained it.
//
// A save writes into step-00000100.tmp-XXXXXX, fsyncs every file, writes the
// manifest last, renames the directory into place and fsyncs its parent, so a
// crash leaves either a complete checkpoint or a temp directory that no
// reader takes for one. Readers verify every file's size and checksum before
// a tensor is used, and refuse a torn, corrupt or foreign checkpoint by name.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weft/comm/process_groups.h"
#include "weft/model/config.h"
#include "weft/model/model.h"
#include "weft/train/adamw.h"

namespace weft {

inline constexpr const char* kCheckpointFormat = "weft-checkpoint";
inline constexpr int kCheckpointVersion = 1;
// Where a translation run with separate vocabularies keeps the encoder's
// tokenizer: RUN/tokenizer_src, or inside an averaged checkpoint.
inline constexpr const char* kSourceTokenizerDir = "tokenizer_src";

// What a run saves besides the tensors. Named fields rather than positional
// arguments: run_config and data_state are both JSON and easy to swap. The
// layout (tp, dp) comes from the ProcessGroups passed to save_checkpoint.
struct CheckpointState {
  int64_t step = 0;   // optimizer steps taken; names the directory
  uint64_t seed = 0;  // TrainerOptions::seed. Dropout draws from a counter-based
                      // stream keyed by (seed, step, sequence): seed and step
                      // are its whole state.
  nlohmann::json run_config = nlohmann::json::object();  // the effective options, free-form
  nlohmann::json data_state = nlohmann::json::object();  // the loader's position, free-form
  std::string tokenizer_dir;  // its regular files are copied; empty: no tokenizer
};

// The files of one tensor-parallel shard.
struct CheckpointShard {
  std::string model_path;      // dir + "/model-tp00-of-02.safetensors" (tp 1: model.safetensors)
  std::string optimizer_path;  // dir + "/optimizer-tp00-of-02.safetensors"; empty with parts
  // Distributed optimizer (ZeRO-1): dir + "/optimizer-tp00-of-02-dp01-of-04.safetensors",
  // by data-parallel rank; each holds that rank's flat ranges of the shard's states.
  std::vector<std::string> optimizer_parts;
};

// How a parameter was split when it was saved.
struct SavedParameter {
  Shape full_shape;
  int shard_dim = -1;  // -1: every shard file holds it whole
  // Rows of full_shape[0] that pad the vocabulary (Parameter::padded_rows).
  // The padding depends on tp, so a load under another tp reads the real
  // rows and leaves its own padding zero.
  int64_t padded_rows = 0;
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
  int64_t tp = 1;  // the layout that wrote it
  int64_t dp = 1;
  std::vector<CheckpointShard> shards;               // tp of them, by tp rank
  std::map<std::string, SavedParameter> parameters;  // by parameter name
  std::string tokenizer_dir;                 // dir + "/tokenizer"; empty when none was saved
  std::vector<std::string> tokenizer_files;  // file names inside tokenizer_dir
  // dir + "/tokenizer_src" when the manifest lists "source_tokenizer" (an
  // average writes it); empty otherwise. See source_tokenizer_dir_of.
  std::string source_tokenizer_dir;
  std::vector<std::string> source_tokenizer_files;
};

// Writes RUN/checkpoints/step-<step, 8 digits>/ and returns its path, on
// every rank. Collective over groups.world: every rank calls it with the same
// run_dir and step. Each rank of data-parallel replica 0 writes its shard
// files; world rank 0 makes the temp directory, copies the tokenizer, writes
// the manifest once every shard is written, and renames the directory into
// place. The ranks agree after each of these phases (an all-reduce of who
// failed), so a failure on any rank makes every rank throw (the failed one
// its own error, the others naming it) and no rank hangs; unless only the
// deletion of old checkpoints failed, no complete checkpoint is left. The
// file system must be shared by the ranks of replica 0 and rank 0.
//
// A checkpoint of the same step is replaced only once the new one is
// complete. After a successful write: with keep_last > 0, checkpoints of
// lower steps beyond the newest keep_last are deleted (the one just written
// counts and is never deleted; higher steps, left by an abandoned
// continuation, are not touched); and the temp directories of interrupted
// saves are removed, which assumes one writer per run directory. A failed
// write deletes nothing and removes its own temp directory. Throws
// weft::Error naming the path and the failing operation, a run_config /
// data_state that is not valid JSON text (strings must be UTF-8), a missing
// tokenizer directory, or a parameter whose shard does not match
// groups.tp (a sharded model saved with the default single-rank groups).
std::string save_checkpoint(const std::string& run_dir, Model& model, AdamW& optimizer,
                            const CheckpointState& state, int keep_last = 0,
                            const ProcessGroups& groups = single_rank_groups());

// The complete checkpoints (a step-N directory holding a manifest) under
// RUN/checkpoints, newest (highest step) first. Nothing is verified; an
// absent run directory has none.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

// The newest checkpoint that load_checkpoint accepts. Each newer one that it
// refuses, and each newer temp directory of an interrupted save, is described
// in *refused (when not null) so the caller can warn, e.g.
//   ".../step-00000200/model-tp01-of-02.safetensors: checksum mismatch (...)"
//   ".../step-00000300: no manifest (incomplete write)"
//   ".../step-00000400.tmp-Ab12Cd: no manifest (incomplete write: temp directory
//    of an interrupted save)"
// Throws weft::Error naming the run directory when none is usable.
Checkpoint latest_checkpoint(const std::string& run_dir,
                             std::vector<std::string>* refused = nullptr);

// Reads and verifies `dir`: the manifest is a weft checkpoint of a known
// version with every required key, and every file it lists has the recorded
// size and CRC-32C. Throws weft::Error naming the file and what is wrong.
// Manifests of tp 1 checkpoints written before sharding (no "shards" key)
// are read as one shard of model.safetensors and optimizer.safetensors.
Checkpoint load_checkpoint(const std::string& dir);

// Copy the saved tensors into the model's parameters / the optimizer's state,
// re-split for the loading model: each local tensor receives exactly its
// slice (its parameter's shard_dim, shard_offset and full_shape), whatever
// layout wrote the checkpoint. No collectives: each rank reads the files
// itself. A tensor that is missing, extra, of another full shape or of
// another dtype is refused by file and tensor name, before anything is
// copied, e.g.
//   "model.safetensors: decoder.embed_tokens.weight has shape [65, 384], the
//    model expects [80, 384] (RUN/checkpoints/step-00000100/model.safetensors)"
// restore_optimizer also sets the optimizer's step count. Construct the
// Trainer after it (or call Trainer::set_step) so the schedule resumes too.
void restore_model(Model& model, const Checkpoint& checkpoint);
void restore_optimizer(AdamW& optimizer, const Checkpoint& checkpoint);

// The encoder's tokenizer of a model with separate vocabularies: the
// checkpoint's own tokenizer_src/ when it holds one, else that of the run
// directory two levels up (RUN/checkpoints/step-N -> RUN/tokenizer_src),
// where weft train writes it. Empty for a shared vocabulary.
std::string source_tokenizer_dir_of(const Checkpoint& checkpoint);

// Checkpoint averaging (Vaswani et al. 2017 averaged a run's last 5 or 20
// checkpoints; fairseq's scripts/average_checkpoints.py): writes at out_dir
// a complete checkpoint whose parameters are the element-wise mean of those
// of `checkpoint_dirs` (any order, at least one), and returns it verified.
//
// Each is verified (load_checkpoint) and must match the newest (highest
// step) in model config, tensor-parallel size, saved parameters (full shape,
// shard dimension, dtype, padding) and tokenizers; the data-parallel size
// may differ, as it shapes no parameter. The mean is taken shard file by
// shard file, in double, summed in order of step, and stored in the saved
// dtype; a bf16 run's exact weights are its f32 masters, so their mean
// becomes the new masters and the bf16 values are its rounding. One
// checkpoint is reproduced bit for bit.
//
// Everything else is the newest's, as fairseq keeps the newest's other
// state: step (which a directory named step-N must match), optimizer step
// count, AdamW moments, data-loader position, seed, run config and
// tokenizers. Resuming from the average therefore continues the newest's
// schedule and data from averaged weights. A distributed optimizer's parts
// are joined into one optimizer file per shard (loadable with ZeRO on or
// off). The manifest records {"average": {"steps": [...], "checkpoints":
// [absolute paths]}}, oldest first.
//
// out_dir must not exist or be an empty directory: nothing is overwritten.
// The checkpoint is written into out_dir.tmp-XXXXXX and renamed into place,
// so a failure leaves no out_dir. Throws weft::Error naming the checkpoint
// and what differs, or the file that is corrupt or cannot be written.
Checkpoint average_checkpoints(const std::vector<std::string>& checkpoint_dirs,
                               const std::string& out_dir);

// "step-00000100": the directory name of a step.
std::string checkpoint_dir_name(int64_t step);

// "model.safetensors" (tp 1) or "model-tp01-of-04.safetensors": the file of
// `kind` ("model", "optimizer") that tensor-parallel rank tp_rank writes.
std::string checkpoint_shard_file_name(const std::string& kind, int64_t tp_rank, int64_t tp);

// "optimizer-tp01-of-02-dp03-of-04.safetensors" (tp 1: "optimizer-dp03-of-04..."):
// the part of a distributed optimizer's state that rank (tp_rank, dp_rank) writes.
std::string checkpoint_part_file_name(int64_t tp_rank, int64_t tp, int64_t dp_rank, int64_t dp);

}  // namespace weft
