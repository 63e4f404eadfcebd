#pragma once
// Pieces shared by the checkpoint writer, reader and restore (private to
// src/train): the checksum, durable file operations, the manifest's shape,
// and re-splitting tensors between layouts.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "weft/checkpoint/checkpoint.h"
#include "weft/tensor/safetensors.h"

namespace weft::checkpoint {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kTokenizerDir = "tokenizer";
inline constexpr const char* kTempMarker = ".tmp-";

// --- checksum (checkpoint_checksum.cc) --------------------------------------
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// iSCSI, ext4 and Parquet. crc32c_update(crc32c_update(0, a), b) equals the
// CRC of a followed by b, so files are checksummed in chunks.
uint32_t crc32c_update(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) {
  return crc32c_update(0, data, size);
}

struct FileDigest {
  uint64_t bytes = 0;
  uint32_t crc = 0;
};
// Size and CRC-32C of a file's contents; throws weft::Error naming the path.
FileDigest digest_file(const std::string& path);
// Eight lowercase hex digits: how the manifest writes a CRC.
std::string crc_hex(uint32_t crc);

// --- durable files (files.cc) ---------------------------------------------
// Files are written, and directories fsynced and renamed, through
// weft/tensor/atomic_file.h. Each throws weft::Error naming the path and the
// failed call.
// `to` becomes a durable copy of `from` (an AtomicFile).
void copy_file_durably(const std::string& from, const std::string& to);
// The named files of directory `from` become durable copies in
// `dir`/`into` (created): a checkpoint's tokenizer/. Returns their paths
// relative to `dir` ("tokenizer/vocab.txt"). Each copy fsyncs `into`; the
// manifest's write fsyncs `dir`.
std::vector<std::string> copy_files_into(const std::string& from,
                                         const std::vector<std::string>& files,
                                         const std::string& dir, const std::string& into);
// A fresh directory `prefix` + random suffix (mkdtemp).
std::string make_temp_directory(const std::string& prefix);
// Removes a temp directory with everything in it unless released: the save
// or average that made it got as far as renaming it into place.
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string path) : path_(std::move(path)) {}
  ~TempDirGuard();
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};
// Makes a checkpoint incomplete first (its manifest goes), then removes it, so
// that a crash midway never leaves a manifest that lists missing files.
void remove_checkpoint_dir(const std::string& path);

// A directory entry of RUN/checkpoints that looks like a checkpoint:
// "step-00000100" (complete if it holds a manifest) or
// "step-00000100.tmp-XXXXXX" (an unfinished save).
struct StepDir {
  std::string path;
  int64_t step = 0;
  bool temp = false;
};
// "step-" then only digits (the step); for a temp directory the digits end
// at ".tmp-". False for any other name.
bool parse_step_name(const std::string& name, int64_t& step, bool& temp);
// Newest first; complete ones before temp ones of the same step. An absent
// directory has none.
std::vector<StepDir> scan_step_dirs(const std::string& checkpoints_dir);
std::string checkpoints_dir_of(const std::string& run_dir);

// --- agreement between ranks (checkpoint_agreement.cc) ----------------------
// Runs this rank's part of a phase of a save, then learns from every rank of
// `world` whether theirs succeeded: one all-reduce, which is also a barrier.
// Returns only when every part succeeded. Otherwise a rank whose part failed
// rethrows its own error and every other rank throws weft::Error naming the
// failed ranks and `what` they were doing, so that no rank goes on alone.
void agree_on_phase(Communicator& world, const std::string& what,
                    const std::function<void()>& part);
// The root's temp directory (prefix + mkdtemp's six random characters) on
// every rank; `temp` is the root's path, ignored elsewhere.
std::string share_temp_directory(Communicator& world, const std::string& prefix,
                                 const std::string& temp);

// --- manifest (checkpoint_manifest.cc) --------------------------------------
struct ManifestInputs {
  const CheckpointState* state = nullptr;
  const Model* model = nullptr;
  std::vector<const Parameter*> parameters;  // tp rank 0's: full shapes and shard dims
  int64_t tp = 1;
  int64_t dp = 1;
  int64_t optimizer_step_count = 0;
  // A distributed optimizer's part files per shard (its dp); 0: one
  // optimizer file per shard.
  int64_t optimizer_parts = 0;
  std::vector<std::string> tokenizer_files;  // names inside tokenizer/
  nlohmann::json files;                      // {name: {"bytes", "crc32c"}}
};
nlohmann::json build_manifest(const ManifestInputs& in);

// Parses dir/manifest.json and checks every key; does not look at the files.
Checkpoint read_manifest(const std::string& dir);
// Every file the manifest lists has its recorded size and CRC-32C.
void verify_files(const Checkpoint& checkpoint);

// --- a distributed optimizer's parts (optimizer_parts.cc) --------------------
// The metadata key of a part file: a JSON object {parameter name: [begin,
// end)}, the elements of each parameter's (flattened) shard the part holds.
inline constexpr const char* kPartRangesKey = "weft.ranges";
// The state tensors of one shard, whole (each parameter's shard shape), from
// its parts: every element is held by exactly one part. Throws weft::Error
// naming the part file and what is wrong (a range outside the shard, a gap or
// an overlap, a tensor of the wrong size, a state of an unknown parameter).
SafetensorsFile assemble_optimizer_parts(const std::vector<std::string>& part_paths,
                                         const Checkpoint& c, int64_t shard);

// --- re-splitting (checkpoint_reshard.cc) -----------------------------------
// Where a tensor lies in its full tensor: it covers [origin[d], origin[d] +
// shape[d]) along every dimension d.
using Origin = std::vector<int64_t>;
// Shard `index` of `parts` along `dim` of `full` (dim -1: the whole tensor).
Shape shard_shape(const Shape& full, int dim, int64_t parts);
Origin shard_origin(const Shape& full, int dim, int64_t index, int64_t parts);
bool overlaps(const Origin& a, const Shape& a_shape, const Origin& b, const Shape& b_shape);
// Copies into `dst` every element of `src` that both cover. Host tensors of
// one dtype.
void copy_overlap(const Tensor& src, const Origin& src_origin, Tensor& dst,
                  const Origin& dst_origin);

}  // namespace weft::checkpoint
