// read_manifest: a checkpoint's manifest.json (format, step, model and run
// configs, file list with sizes and checksums, tensor-parallel layout).

#include "checkpoint/checkpoint_internal.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  // A directory named for the step the seeds hold, as save_checkpoint names it.
  fuzz::write_file("run/step-00000002/manifest.json", fuzz::as_text(data, size));
  const std::string dir = fuzz::scratch_dir() + "/run/step-00000002";
  fuzz::accept_or_refuse([&] { checkpoint::read_manifest(dir); });
  return 0;
}
