// weft prepare: raw text in, a dataset directory of token shards out.

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "weft/data/builtin.h"
#include "weft/data/prepare.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

void print_summary(const DatasetInfo& d) {
  std::cout << "wrote " << d.dir << ": " << dataset_kind_name(d.kind) << " dataset, "
            << d.tokenizer->kind() << " tokenizer, vocabulary " << d.tokenizer->vocab_size();
  if (!d.shared_vocabulary) std::cout << " (source " << d.source_tokenizer->vocab_size() << ")";
  std::cout << "\n" << d.meta.dump(2) << "\n";
}

}  // namespace

int run_prepare(int argc, char** argv) {
  po::options_description opts("weft prepare options");
  opts.add_options()
      ("help,h", "list every option with its default")
      ("out", po::value<std::string>(), "dataset directory to write (required)")
      ("input", po::value<std::string>(), "language modelling: the training text")
      ("val-input", po::value<std::string>(), "language modelling: held-out text (default: "
                                              "the last --val-fraction of --input)")
      ("source", po::value<std::string>(), "translation: source sentences, one per line")
      ("target", po::value<std::string>(), "translation: target sentences, aligned with --source")
      ("val-source", po::value<std::string>(), "translation: held-out source sentences")
      ("val-target", po::value<std::string>(), "translation: held-out target sentences")
      ("val-fraction", po::value<double>()->default_value(0.1),
       "share held out when no validation files are given")
      ("tokenizer", po::value<std::string>()->default_value("char"), "char | byte | sentencepiece")
      ("vocab-size", po::value<int64_t>()->default_value(8000), "SentencePiece vocabulary size")
      ("sp-model", po::value<std::string>()->default_value("bpe"), "SentencePiece model: bpe | unigram")
      ("separate-vocab", po::bool_switch(), "translation: one vocabulary per side")
      ("mlm-specials", po::bool_switch(),
       "language modelling: add [CLS] [SEP] [MASK] and a pad to the vocabulary, as an "
       "encoder-only (masked LM) model needs; the text's literal [CLS], [SEP], [MASK] and "
       "[PAD] become those tokens")
      ("builtin", po::value<std::string>(),
       "write a built-in dataset instead: numbers | numbers-lm | numbers-mlm");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  WEFT_CHECK(vm.count("out"), "--out DIR is required: the dataset directory to write");
  const std::string out = vm["out"].as<std::string>();
  auto get = [&](const char* key) {
    return vm.count(key) ? vm[key].as<std::string>() : std::string();
  };

  const bool mlm_specials = vm["mlm-specials"].as<bool>();
  WEFT_CHECK(!(mlm_specials && vm.count("builtin")), "--mlm-specials cannot be combined with ",
             "--builtin: the built-in datasets have fixed vocabularies (numbers-mlm has the MLM ",
             "specials); prepare your own text ",
             "with --input and --mlm-specials");
  if (vm.count("builtin")) {
    print_summary(prepare_builtin(get("builtin"), out));
    return 0;
  }
  TokenizerSpec spec;
  spec.kind = get("tokenizer");
  spec.sentencepiece.vocab_size = vm["vocab-size"].as<int64_t>();
  spec.sentencepiece.model_type = get("sp-model");
  spec.mlm_specials = mlm_specials;

  const bool translation = vm.count("source") || vm.count("target");
  WEFT_CHECK(translation != static_cast<bool>(vm.count("input")),
             "give either --input (language modelling) or --source and --target (translation)");
  if (translation) {
    WEFT_CHECK(vm.count("source") && vm.count("target"),
               "translation needs both --source and --target");
    WEFT_CHECK(!mlm_specials, "--mlm-specials is for a masked language model's corpus (--input); ",
               "a translation dataset (--source, --target) has no use for [CLS] [SEP] [MASK]");
    PrepareTranslationOptions o;
    o.source = get("source"), o.target = get("target");
    o.val_source = get("val-source"), o.val_target = get("val-target");
    o.val_fraction = vm["val-fraction"].as<double>();
    o.tokenizer = spec;
    o.shared_vocabulary = !vm["separate-vocab"].as<bool>();
    o.out_dir = out;
    print_summary(prepare_translation(o));
  } else {
    PrepareLmOptions o;
    o.input = get("input"), o.val_input = get("val-input");
    o.val_fraction = vm["val-fraction"].as<double>();
    o.tokenizer = spec;
    o.out_dir = out;
    print_summary(prepare_lm(o));
  }
  return 0;
}

}  // namespace weft::cli
