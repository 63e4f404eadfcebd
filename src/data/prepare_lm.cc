// prepare_lm: one text, a tokenizer, train.bin and val.bin.

#include "data/file_io.h"
#include "data/prepare_internal.h"
#include "weft/data/prepare.h"
#include "weft/data/shard.h"
#include "weft/tensor/error.h"

namespace weft {

void PrepareLmOptions::validate() const {
  WEFT_CHECK(!input.empty(), "prepare: no input text file given");
  WEFT_CHECK(!out_dir.empty(), "prepare: no output directory given");
  if (val_input.empty()) {
    WEFT_CHECK(val_fraction > 0.0 && val_fraction < 1.0, "prepare: val fraction ", val_fraction,
               " is not in (0, 1); give a held-out file instead to use all of ", input);
  }
  tokenizer.validate();
}

DatasetInfo prepare_lm(const PrepareLmOptions& options) {
  options.validate();
  data::LmTexts texts;
  texts.train = data::read_file(options.input, "input text");
  if (!options.val_input.empty()) {
    texts.val = data::read_file(options.val_input, "held-out text");
    texts.provenance = {{"input", {{"train", options.input}, {"val", options.val_input}}},
                        {"split", {{"method", "file"}}}};
  } else {
    const auto n = static_cast<int64_t>(texts.train.size());
    auto cut = static_cast<int64_t>(static_cast<double>(n) * (1.0 - options.val_fraction));
    // Never cut a UTF-8 character in two: step back over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(texts.train[cut]) & 0xc0) == 0x80) --cut;
    texts.val = texts.train.substr(cut);
    texts.train.resize(cut);
    texts.provenance = {
        {"input", {{"train", options.input}}},
        {"split", {{"method", "fraction"}, {"val_fraction", options.val_fraction}}}};
  }
  WEFT_CHECK(!texts.train.empty(), options.input, ": no training text (the file is empty or too ",
             "short to split off ", options.val_fraction, " for validation)");
  WEFT_CHECK(!texts.val.empty(), "prepare: the held-out text is empty (",
             options.val_input.empty() ? options.input : options.val_input, ")");
  return data::write_lm_dataset(texts, options.tokenizer, options.out_dir);
}

namespace data {

DatasetInfo write_lm_dataset(const LmTexts& texts, const TokenizerSpec& spec,
                             const std::string& out_dir) {
  // nanoGPT's char vocabulary covers the whole text, so val never holds an
  // unknown character; a trained tokenizer learns from the training text only.
  const std::unique_ptr<Tokenizer> tokenizer = spec.kind == "char"
                                                   ? build_tokenizer(spec, texts.train + texts.val)
                                                   : build_tokenizer(spec, texts.train);
  const std::vector<int32_t> train = tokenizer->encode(texts.train);
  const std::vector<int32_t> val = tokenizer->encode(texts.val);

  begin_dataset_dir(out_dir);
  tokenizer->save(out_dir);
  write_shard(join_path(out_dir, "train.bin"), train, tokenizer->vocab_size(),
              tokenizer->vocabulary_hash());
  write_shard(join_path(out_dir, "val.bin"), val, tokenizer->vocab_size(),
              tokenizer->vocabulary_hash());
  nlohmann::json meta = texts.provenance;
  meta["kind"] = "lm";
  meta["tokenizer"] = tokenizer_entry(*tokenizer, ".");
  meta["train"] = {{"tokens", train.size()}, {"bytes", texts.train.size()}};
  meta["val"] = {{"tokens", val.size()}, {"bytes", texts.val.size()}};
  write_meta(out_dir, meta);
  return read_dataset(out_dir);
}

}  // namespace data
}  // namespace weft
