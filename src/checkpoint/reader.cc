// Finding and verifying checkpoints. A reader trusts nothing but the
// manifest's checksums: a directory without a manifest is an interrupted
// save, and a file whose size or CRC differs is refused by name.

#include <filesystem>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/error.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  for (const StepDir& d : scan_step_dirs(checkpoints_dir_of(run_dir))) {
    std::error_code ec;
    if (!d.temp && fs::is_regular_file(fs::path(d.path) / kManifestFile, ec)) out.push_back(d.path);
  }
  return out;
}

Checkpoint load_checkpoint(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such checkpoint directory");
  Checkpoint c = read_manifest(dir);
  verify_files(c);
  return c;
}

std::string source_tokenizer_dir_of(const Checkpoint& c) {
  if (c.model_config.shared_vocabulary()) return "";
  if (!c.source_tokenizer_dir.empty()) return c.source_tokenizer_dir;
  fs::path dir(c.dir);
  if (dir.filename().empty()) dir = dir.parent_path();  // "…/step-00000005/"
  return (dir.parent_path().parent_path() / kSourceTokenizerDir).string();
}

Checkpoint latest_checkpoint(const std::string& run_dir, std::vector<std::string>* refused) {
  std::vector<std::string> skipped;
  for (const StepDir& d : scan_step_dirs(checkpoints_dir_of(run_dir))) {
    if (d.temp) {
      skipped.push_back(d.path + ": no manifest (incomplete write: temp directory of an " +
                        "interrupted save)");
      continue;
    }
    try {
      Checkpoint c = load_checkpoint(d.path);
      if (refused) *refused = skipped;
      return c;
    } catch (const Error& e) {
      skipped.push_back(e.what());
    }
  }
  if (refused) *refused = skipped;
  std::string message =
      "run directory '" + run_dir + "': no usable checkpoint in " + checkpoints_dir_of(run_dir);
  for (const std::string& s : skipped) message += "\n  refused " + s;
  throw Error(message);
}

}  // namespace weft
