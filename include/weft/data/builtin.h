#pragma once
// Corpora the project generates itself, so a fresh clone trains something
// real in a minute, with outputs anyone can check:
//   "numbers"     translation: source "4071", target "four thousand
//                 seventy-one"; 20000 training pairs, 500 held-out pairs whose
//                 numbers never occur in training; char tokenizer with
//                 specials, shared vocabulary
//   "numbers-lm"  language modelling: lines "4071 is four thousand
//                 seventy-one.\n"; 20000 training lines, 1000 held-out lines
//                 with numbers disjoint from training; char tokenizer
//   "numbers-mlm" numbers-lm's lines, its char tokenizer with [CLS] [SEP]
//                 [MASK] [PAD], for a masked language model
// Numbers have 1 to 6 digits (more often many), drawn from a counter-based
// generator, so the same seed gives the same files on every machine.
// Held-out numbers have at least 3 digits: every small number stays in
// training, where the words it teaches are learned.

#include <cstdint>
#include <string>
#include <vector>

#include "weft/data/dataset.h"

namespace weft {

std::vector<std::string> builtin_dataset_names();  // {"numbers", "numbers-lm", "numbers-mlm"}

// Writes a normal dataset directory (see dataset.h). Throws weft::Error
// listing the names for an unknown one.
DatasetInfo prepare_builtin(const std::string& name, const std::string& out_dir, uint64_t seed = 1);

// English words, US style without "and": 0 -> "zero", 20 -> "twenty",
// 115 -> "one hundred fifteen", 4071 -> "four thousand seventy-one";
// negative numbers start with "minus". Scales up to quintillion.
std::string number_to_words(int64_t n);

}  // namespace weft
