#include "cli/run_data.h"

#include <filesystem>

#include "weft/data/builtin.h"
#include "weft/data/loader.h"
#include "weft/data/mlm_loader.h"
#include "weft/tensor/error.h"

namespace weft::cli {
namespace {

constexpr const char* kBuiltinPrefix = "builtin:";

}  // namespace

DatasetInfo open_dataset(const std::string& dataset) {
  if (dataset.rfind(kBuiltinPrefix, 0) == 0) {
    const std::string name = dataset.substr(std::string(kBuiltinPrefix).size());
    const std::string dir = "data/builtin-" + name;
    if (std::filesystem::exists(dir + "/meta.json")) return read_dataset(dir);
    std::fprintf(stderr, "preparing the built-in dataset '%s' in %s\n", name.c_str(), dir.c_str());
    return prepare_builtin(name, dir);
  }
  WEFT_CHECK(std::filesystem::is_directory(dataset), "data.dataset '", dataset,
             "' is not a directory: prepare one with 'weft prepare', or use builtin:numbers or "
             "builtin:numbers-lm");
  return read_dataset(dataset);
}

void fit_model_to_data(ModelConfig& model, const DatasetInfo& data) {
  const bool enc_dec = model.architecture == Architecture::EncoderDecoder;
  WEFT_CHECK(enc_dec == data.is_translation(), "data.dataset '", data.dir, "' is a ",
             dataset_kind_name(data.kind == DatasetKind::Translation ? DatasetKind::Translation
                                                                     : DatasetKind::LanguageModel),
             " corpus, but the model is ", architecture_name(model.architecture),
             ": a translation corpus needs an encoder-decoder preset, a language-model corpus a "
             "decoder-only or encoder-only one");
  WEFT_CHECK(model.architecture != Architecture::EncoderOnly || data.tokenizer->has_mlm_specials(),
             "data.dataset '", data.dir, "' has no [CLS] [SEP] [MASK] [PAD] tokens, which the ",
             "encoder-only (masked LM) model needs; prepare it again with weft prepare ",
             "--mlm-specials");
  model.vocab_size = data.tokenizer->vocab_size();
  model.source_vocab_size = data.shared_vocabulary ? 0 : data.source_tokenizer->vocab_size();
  model.pad_id = data.tokenizer->pad_id();
  // A masked LM's segments are counted in [SEP] tokens.
  if (model.encoder_only()) model.sep_id = data.tokenizer->sep_id();
}

std::unique_ptr<BatchStream> make_stream(const DatasetInfo& data, const RunConfig& config,
                                        const std::string& split, bool training,
                                        int64_t dp_rank, int64_t dp_size) {
  // Evaluation batches use a fixed seed so every evaluation sees the same ones.
  const uint64_t seed = training ? config.seed : 0;
  const int64_t micro_batch = config.batch_size / config.grad_accum;
  if (data.is_translation()) {
    return std::make_unique<TranslationLoader>(data, split, micro_batch, seed, training,
                                               config.model.max_seq_len, dp_rank, dp_size,
                                               config.max_tokens);
  }
  WEFT_CHECK(config.max_tokens == 0, "data.max_tokens batches translation pairs; a language-model ",
             "corpus takes data.batch_size sequences of data.seq_len tokens");
  const int64_t seq = config.seq_len > 0 ? config.seq_len : config.model.max_seq_len;
  WEFT_CHECK(seq <= config.model.max_seq_len, "data.seq_len ", seq,
             " is longer than the model's context model.max_seq_len ", config.model.max_seq_len);
  if (config.model.architecture == Architecture::EncoderOnly) {
    return std::make_unique<MlmLoader>(data, split, micro_batch, seq, seed, dp_rank, dp_size);
  }
  return std::make_unique<LmLoader>(data, split, micro_batch, seq, seed, dp_rank, dp_size);
}

}  // namespace weft::cli
