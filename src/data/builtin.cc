// The built-in corpora: numbers in digits and in words, generated from a seed.

#include "weft/data/builtin.h"

#include <set>

#include "data/prepare_internal.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// Draws numbers from a counter-based stream: the same on every platform,
// unlike the distributions of <random>.
class NumberDraws {
 public:
  NumberDraws(uint64_t seed, const char* purpose)
      : key_(rng::stream_key(seed, rng::hash_name("weft-builtin"), rng::hash_name(purpose))) {}

  // Digit count d in [min_digits, 6], weighted to favour long numbers (there
  // are few short ones), then uniform among the numbers of d digits.
  int64_t next(int min_digits) {
    static constexpr int kWeights[7] = {0, 1, 1, 2, 3, 3, 3};
    int total = 0;
    for (int d = min_digits; d <= 6; ++d) total += kWeights[d];
    int pick = static_cast<int>(draw() % static_cast<uint64_t>(total));
    int digits = min_digits;
    while (pick >= kWeights[digits]) pick -= kWeights[digits++];
    int64_t low = 1;
    for (int d = 1; d < digits; ++d) low *= 10;
    if (digits == 1) low = 0;
    const int64_t high = digits == 1 ? 10 : low * 10;
    return low + static_cast<int64_t>(draw() % static_cast<uint64_t>(high - low));
  }

 private:
  uint64_t draw() { return rng::mix64(key_ ^ rng::mix64(counter_++)); }

  uint64_t key_;
  uint64_t counter_ = 0;
};

struct NumberSplit {
  std::vector<int64_t> train, val;
};

// `val_count` distinct held-out numbers of 3+ digits, then `train_count`
// training numbers (repeats allowed) none of which is held out.
NumberSplit draw_numbers(uint64_t seed, int64_t train_count, int64_t val_count) {
  NumberDraws draws(seed, "numbers");
  std::set<int64_t> held_out;
  NumberSplit split;
  while (static_cast<int64_t>(split.val.size()) < val_count) {
    const int64_t n = draws.next(3);
    if (held_out.insert(n).second) split.val.push_back(n);
  }
  while (static_cast<int64_t>(split.train.size()) < train_count) {
    const int64_t n = draws.next(1);
    if (!held_out.contains(n)) split.train.push_back(n);
  }
  return split;
}

TokenizerSpec char_tokenizer(bool mlm_specials = false) {
  TokenizerSpec spec;
  spec.kind = "char";
  spec.mlm_specials = mlm_specials;
  return spec;
}

nlohmann::json provenance(const std::string& name, uint64_t seed, const NumberSplit& split) {
  return {{"input", {{"builtin", name}, {"seed", seed}}},
          {"split",
           {{"method", "generated"},
            {"train", split.train.size()},
            {"val", split.val.size()},
            {"disjoint", true}}}};
}

DatasetInfo prepare_numbers(const std::string& out_dir, uint64_t seed) {
  const NumberSplit split = draw_numbers(seed, 20000, 500);
  data::ParallelTexts texts;
  for (const int64_t n : split.train) {
    texts.train_source.push_back(std::to_string(n));
    texts.train_target.push_back(number_to_words(n));
  }
  for (const int64_t n : split.val) {
    texts.val_source.push_back(std::to_string(n));
    texts.val_target.push_back(number_to_words(n));
  }
  texts.provenance = provenance("numbers", seed, split);
  return data::write_translation_dataset(texts, char_tokenizer(), true, out_dir);
}

// numbers-lm's lines; with [CLS] [SEP] [MASK] [PAD] for a masked LM (numbers-mlm).
DatasetInfo prepare_numbers_lm(const std::string& out_dir, uint64_t seed, bool mlm) {
  const NumberSplit split = draw_numbers(seed, 20000, 1000);
  data::LmTexts texts;
  for (const int64_t n : split.train) {
    texts.train += std::to_string(n) + " is " + number_to_words(n) + ".\n";
  }
  for (const int64_t n : split.val) {
    texts.val += std::to_string(n) + " is " + number_to_words(n) + ".\n";
  }
  texts.provenance = provenance(mlm ? "numbers-mlm" : "numbers-lm", seed, split);
  return data::write_lm_dataset(texts, char_tokenizer(mlm), out_dir);
}

}  // namespace

std::vector<std::string> builtin_dataset_names() {
  return {"numbers", "numbers-lm", "numbers-mlm"};
}

DatasetInfo prepare_builtin(const std::string& name, const std::string& out_dir, uint64_t seed) {
  if (name == "numbers") return prepare_numbers(out_dir, seed);
  if (name == "numbers-lm") return prepare_numbers_lm(out_dir, seed, /*mlm=*/false);
  if (name == "numbers-mlm") return prepare_numbers_lm(out_dir, seed, /*mlm=*/true);
  throw Error("unknown built-in dataset '" + name +
              "' (built-in datasets: numbers, numbers-lm, numbers-mlm)");
}

}  // namespace weft
