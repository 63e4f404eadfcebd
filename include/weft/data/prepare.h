#pragma once
// `weft prepare` as library functions: text files in, a dataset directory out
// (layout in dataset.h). Every input is read, checked, tokenized and encoded
// before the first file is written, so a refused input writes nothing.

#include <cstdint>
#include <string>

#include "weft/data/dataset.h"
#include "weft/data/tokenizer.h"

namespace weft {

struct PrepareLmOptions {
  std::string input;      // training text (the whole corpus when val is split off)
  std::string val_input;  // held-out text; empty: the last val_fraction of `input`
  // As nanoGPT: train = the first int(n · (1 − f)) bytes (moved back to a
  // UTF-8 character boundary), val = the rest.
  double val_fraction = 0.1;
  TokenizerSpec tokenizer;  // char by default
  std::string out_dir;
  // Throws weft::Error naming the first option out of range.
  void validate() const;
};

// The char vocabulary comes from all the text (train and val, as nanoGPT);
// SentencePiece is trained on the training text only.
DatasetInfo prepare_lm(const PrepareLmOptions& options);

struct PrepareTranslationOptions {
  std::string source, target;  // aligned lines: line i of one translates line i of the other
  // Held-out pairs, both or neither; neither: the last val_fraction of the lines.
  std::string val_source, val_target;
  double val_fraction = 0.1;
  // Specials are always on: translation needs pad, bos and eos.
  TokenizerSpec tokenizer;
  bool shared_vocabulary = true;  // false: tokenizer_src/ and tokenizer_tgt/
  std::string out_dir;
  void validate() const;
};

// Refuses files whose line counts differ, naming both files and both counts.
// A trailing newline ends the last line; a '\r' before a newline is dropped.
DatasetInfo prepare_translation(const PrepareTranslationOptions& options);

}  // namespace weft
