#pragma once
// A trained model ready for inference: the newest good checkpoint of a run
// directory (or a checkpoint directory itself), its model and tokenizers.

#include <memory>
#include <string>

#include "weft/data/tokenizer.h"
#include "weft/model/model.h"
#include "weft/checkpoint/checkpoint.h"

namespace weft::cli {

struct LoadedRun {
  Checkpoint checkpoint;
  std::unique_ptr<Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;         // target (or the only one)
  std::shared_ptr<const Tokenizer> source_tokenizer;  // encoder side; == tokenizer when shared
};

// Where a run keeps its tokenizers: <run>/tokenizer (target or shared) and,
// with separate vocabularies, <run>/tokenizer_src.
std::string run_tokenizer_dir(const std::string& run_dir);
std::string run_source_tokenizer_dir(const std::string& run_dir);

// `path`: a run directory (its newest checkpoint that verifies; skipped ones
// are reported on stderr) or one checkpoint directory.
LoadedRun load_run(const std::string& path);

// "a decoder-only", "an encoder-decoder", "an encoder-only": what a
// checkpoint holds, for the commands that refuse a family.
std::string architecture_with_article(Architecture a);

}  // namespace weft::cli
