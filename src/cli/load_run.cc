#include "cli/load_run.h"

#include <cstdio>
#include <filesystem>

#include "weft/model/factory.h"
#include "weft/tensor/error.h"

namespace fs = std::filesystem;

namespace weft::cli {

std::string run_tokenizer_dir(const std::string& run_dir) { return run_dir + "/tokenizer"; }
std::string run_source_tokenizer_dir(const std::string& run_dir) {
  return run_dir + "/" + kSourceTokenizerDir;
}

LoadedRun load_run(const std::string& path) {
  WEFT_CHECK(fs::exists(path), "checkpoint '", path, "' does not exist");
  LoadedRun run;
  if (fs::exists(path + "/manifest.json")) {
    run.checkpoint = load_checkpoint(path);
  } else {
    std::vector<std::string> refused;
    run.checkpoint = latest_checkpoint(path, &refused);
    for (const std::string& r : refused) std::fprintf(stderr, "warning: skipped %s\n", r.c_str());
  }
  const Checkpoint& ckpt = run.checkpoint;
  run.model = make_model(ckpt.model_config);
  restore_model(*run.model, ckpt);

  WEFT_CHECK(!ckpt.tokenizer_dir.empty(), "checkpoint ", ckpt.dir, " holds no tokenizer");
  run.tokenizer = load_tokenizer(ckpt.tokenizer_dir);
  run.source_tokenizer = run.tokenizer;
  // The checkpoint's own (an average's) or its run directory's.
  if (!ckpt.model_config.shared_vocabulary()) {
    run.source_tokenizer = load_tokenizer(source_tokenizer_dir_of(ckpt));
  }
  WEFT_CHECK(run.tokenizer->vocab_size() == ckpt.model_config.vocab_size, "checkpoint ", ckpt.dir,
             ": its tokenizer has ", run.tokenizer->vocab_size(),
             " tokens but the model's vocabulary is ", ckpt.model_config.vocab_size);
  return run;
}

std::string architecture_with_article(Architecture a) {
  const std::string name = architecture_name(a);
  return (name.front() == 'e' ? "an " : "a ") + name;
}

}  // namespace weft::cli
