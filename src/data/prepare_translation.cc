// prepare_translation: aligned source and target lines, one or two
// tokenizers, and {train,val}.{src,tgt}.bin with an EOS after every sentence.

#include "data/file_io.h"
#include "data/prepare_internal.h"
#include "weft/data/prepare.h"
#include "weft/data/shard.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

std::vector<std::string> read_lines(const std::string& path, const char* what) {
  return data::split_lines(data::read_file(path, what));
}

void check_aligned(const std::string& source_path, size_t source_lines,
                   const std::string& target_path, size_t target_lines) {
  if (source_lines == target_lines) return;
  throw Error("prepare: " + source_path + " has " + std::to_string(source_lines) + " lines but " +
              target_path + " has " + std::to_string(target_lines) +
              "; a parallel corpus needs exactly one target line per source line");
}

// The text a tokenizer is built from: lines for SentencePiece to train on;
// for a char vocabulary, no newline, which no sentence contains.
std::string corpus(const TokenizerSpec& spec,
                   std::initializer_list<const std::vector<std::string>*> sides) {
  std::string text;
  for (const auto* lines : sides) {
    for (const std::string& line : *lines) {
      text += line;
      if (spec.kind != "char") text += '\n';
    }
  }
  return text;
}

// Each sentence's ids, then EOS: the loader finds sentences by their EOS.
std::vector<int32_t> encode_sentences(const Tokenizer& tokenizer,
                                      const std::vector<std::string>& lines) {
  std::vector<int32_t> ids;
  for (const std::string& line : lines) {
    const std::vector<int32_t> sentence = tokenizer.encode(line);
    ids.insert(ids.end(), sentence.begin(), sentence.end());
    ids.push_back(tokenizer.eos_id());
  }
  return ids;
}

}  // namespace

void PrepareTranslationOptions::validate() const {
  WEFT_CHECK(!source.empty() && !target.empty(), "prepare: a translation dataset needs both a ",
             "source and a target file");
  WEFT_CHECK(val_source.empty() == val_target.empty(), "prepare: give both held-out files ",
             "(source and target) or neither");
  WEFT_CHECK(!out_dir.empty(), "prepare: no output directory given");
  if (val_source.empty()) {
    WEFT_CHECK(val_fraction > 0.0 && val_fraction < 1.0, "prepare: val fraction ", val_fraction,
               " is not in (0, 1); give held-out files instead");
  }
  WEFT_CHECK(!tokenizer.mlm_specials, "prepare: MLM specials ([CLS] [SEP] [MASK]) are for a ",
             "masked language model's corpus (--input); a translation dataset has no use for them");
  tokenizer.validate();
}

DatasetInfo prepare_translation(const PrepareTranslationOptions& options) {
  options.validate();
  data::ParallelTexts texts;
  texts.train_source = read_lines(options.source, "source text");
  texts.train_target = read_lines(options.target, "target text");
  check_aligned(options.source, texts.train_source.size(), options.target,
                texts.train_target.size());
  nlohmann::json input = {{"source", options.source}, {"target", options.target}};
  if (!options.val_source.empty()) {
    texts.val_source = read_lines(options.val_source, "held-out source text");
    texts.val_target = read_lines(options.val_target, "held-out target text");
    check_aligned(options.val_source, texts.val_source.size(), options.val_target,
                  texts.val_target.size());
    input["val_source"] = options.val_source;
    input["val_target"] = options.val_target;
    texts.provenance["split"] = {{"method", "file"}};
  } else {
    // The last lines, as the language-model split; shuffle an ordered corpus first.
    const size_t n = texts.train_source.size();
    const auto cut = static_cast<size_t>(static_cast<double>(n) * (1.0 - options.val_fraction));
    const auto split_off = [cut](std::vector<std::string>& lines, std::vector<std::string>& val) {
      val.assign(lines.begin() + static_cast<std::ptrdiff_t>(cut), lines.end());
      lines.resize(cut);
    };
    split_off(texts.train_source, texts.val_source);
    split_off(texts.train_target, texts.val_target);
    texts.provenance["split"] = {{"method", "fraction"}, {"val_fraction", options.val_fraction}};
  }
  texts.provenance["input"] = input;
  WEFT_CHECK(!texts.train_source.empty(), "prepare: no training pairs in ", options.source);
  WEFT_CHECK(!texts.val_source.empty(), "prepare: no held-out pairs (",
             options.val_source.empty() ? options.source : options.val_source, ")");
  return data::write_translation_dataset(texts, options.tokenizer, options.shared_vocabulary,
                                         options.out_dir);
}

namespace data {

DatasetInfo write_translation_dataset(const ParallelTexts& texts, TokenizerSpec spec,
                                      bool shared_vocabulary, const std::string& out_dir) {
  spec.with_specials = true;
  // Char vocabularies see every line (val included), so val has no unknown
  // character; trained tokenizers learn from the training lines only.
  const bool all = spec.kind == "char";
  const std::vector<std::string> none;
  const auto& val_source = all ? texts.val_source : none;
  const auto& val_target = all ? texts.val_target : none;
  std::shared_ptr<Tokenizer> target, source;
  if (shared_vocabulary) {
    target = build_tokenizer(
        spec, corpus(spec, {&texts.train_source, &texts.train_target, &val_source, &val_target}));
    source = target;
  } else {
    target = build_tokenizer(spec, corpus(spec, {&texts.train_target, &val_target}));
    source = build_tokenizer(spec, corpus(spec, {&texts.train_source, &val_source}));
  }
  const std::vector<int32_t> shards[4] = {
      encode_sentences(*source, texts.train_source), encode_sentences(*target, texts.train_target),
      encode_sentences(*source, texts.val_source), encode_sentences(*target, texts.val_target)};
  const char* names[4] = {"train.src.bin", "train.tgt.bin", "val.src.bin", "val.tgt.bin"};

  begin_dataset_dir(out_dir);
  const std::string source_dir = shared_vocabulary ? "." : "tokenizer_src";
  const std::string target_dir = shared_vocabulary ? "." : "tokenizer_tgt";
  if (shared_vocabulary) {
    target->save(out_dir);
  } else {
    source->save(join_path(out_dir, source_dir));
    target->save(join_path(out_dir, target_dir));
  }
  for (int i = 0; i < 4; ++i) {
    const Tokenizer& side = i % 2 == 0 ? *source : *target;
    write_shard(join_path(out_dir, names[i]), shards[i], side.vocab_size(), side.vocabulary_hash());
  }
  nlohmann::json meta = texts.provenance;
  meta["kind"] = "translation";
  meta["shared_vocabulary"] = shared_vocabulary;
  meta["source_tokenizer"] = tokenizer_entry(*source, source_dir);
  meta["target_tokenizer"] = tokenizer_entry(*target, target_dir);
  // Token counts include each sentence's EOS.
  meta["train"] = {{"sentences", texts.train_source.size()},
                   {"source_tokens", shards[0].size()},
                   {"target_tokens", shards[1].size()}};
  meta["val"] = {{"sentences", texts.val_source.size()},
                 {"source_tokens", shards[2].size()},
                 {"target_tokens", shards[3].size()}};
  write_meta(out_dir, meta);
  return read_dataset(out_dir);
}

}  // namespace data
}  // namespace weft
