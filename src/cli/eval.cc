// weft eval: loss and perplexity of a checkpoint on a split; for translation
// also corpus BLEU and chrF2 (as sacreBLEU) and exact match of decoded
// outputs. With --source and --reference it translates an outside test set
// instead and scores that.

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "cli/printable_text.h"
#include "cli/run_data.h"
#include "cli/translate_lines.h"
#include "weft/data/loader.h"
#include "weft/inference/metric_signature.h"
#include "weft/inference/translation_score.h"
#include "weft/inference/masked_lm_score.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

struct TestSet {
  std::string source, reference, output;  // file names; output may be empty
  int64_t batch = 32;                     // lines decoded together
};

// Translates the test set's sources, writes them to its output when named,
// and prints BLEU and chrF2 against its references with decoding speed.
int evaluate_test_set(const std::string& checkpoint, const TestSet& set,
                      const BeamSearchOptions& search) {
  const std::vector<std::string> sources = read_text_lines(set.source, "--source");
  const std::vector<std::string> references = read_text_lines(set.reference, "--reference");
  WEFT_CHECK(sources.size() == references.size(), "--source '", printable_text(set.source),
             "' has ", sources.size(), " lines but --reference '", printable_text(set.reference),
             "' has ", references.size(), ": each source line needs its reference");

  LoadedRun run = load_run(checkpoint);
  EncoderDecoder& model = translation_model(
      run,
      "--source needs a translation (encoder-decoder) checkpoint; for a language model "
      "evaluate a split with --split");
  const BeamSearchOptions options = with_run_tokens(search, run, model);
  std::ofstream output;
  if (!set.output.empty()) {
    output.open(set.output);
    WEFT_CHECK(output.good(), "--output '", printable_text(set.output), "' cannot be written");
  }

  std::vector<std::string> hypotheses;
  int64_t target_tokens = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t begin = 0; begin < sources.size(); begin += static_cast<size_t>(set.batch)) {
    const size_t end = std::min(sources.size(), begin + static_cast<size_t>(set.batch));
    const std::vector<std::string> lines(sources.begin() + begin, sources.begin() + end);
    LineTranslations part =
        translate_lines(model, run, lines, static_cast<int64_t>(begin) + 1, options);
    for (std::string& h : part.hypotheses) hypotheses.push_back(std::move(h));
    target_tokens += part.target_tokens;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (output.is_open()) {
    for (const std::string& h : hypotheses) output << h << "\n";
    output.close();
    WEFT_CHECK(output.good(), "--output '", printable_text(set.output), "': writing failed");
  }

  const auto n = static_cast<int64_t>(hypotheses.size());
  const double per_second = seconds > 0.0 ? 1.0 / seconds : 0.0;
  const BleuScore bleu = corpus_bleu(hypotheses, references);
  const ChrfScore chrf = corpus_chrf(hypotheses, references);
  std::printf(
      "%s: %ld sentences translated in %.2f s (beam %ld): %.1f sentences/s, %.1f target "
      "tokens/s\n",
      printable_text(set.source).c_str(), static_cast<long>(n), seconds,
      static_cast<long>(options.beam_size), static_cast<double>(n) * per_second,
      static_cast<double>(target_tokens) * per_second);
  std::printf("%s\n%s\n", bleu_line(bleu).c_str(), chrf_line(chrf).c_str());
  const nlohmann::json result = {
      {"checkpoint", run.checkpoint.dir},
      {"step", run.checkpoint.step},
      {"source", set.source},
      {"reference", set.reference},
      {"sentences", n},
      {"beam", options.beam_size},
      {"bleu", bleu.score},
      {"chrf", chrf.score},
      {"bleu_signature", bleu_signature()},
      {"chrf_signature", chrf_signature()},
      {"seconds", seconds},
      {"target_tokens", target_tokens},
      {"sentences_per_second", static_cast<double>(n) * per_second},
      {"target_tokens_per_second", static_cast<double>(target_tokens) * per_second}};
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

}  // namespace

int run_eval(int argc, char** argv) {
  po::options_description opts("weft eval options");
  std::string checkpoint, dataset, split;
  int64_t batches, max_sentences;
  BeamSearchOptions search;
  TestSet test_set;
  // clang-format off
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("data", po::value(&dataset), "dataset directory (default: the one the run trained on)")
      ("split", po::value(&split)->default_value("val"), "train | val")
      ("batches", po::value(&batches)->default_value(0),
       "batches to evaluate the loss on (0: the run's train.eval_batches; a whole epoch for translation)")
      ("beam", po::value(&search.beam_size)->default_value(1),
       "translation: beam size (1: greedy)")
      ("alpha", po::value(&search.length_penalty)->default_value(0.6, "0.6"),
       "translation: length penalty")
      ("max-extra", po::value(&search.max_extra_length)->default_value(50),
       "translation: longest output is input length + this")
      ("max-sentences", po::value(&max_sentences)->default_value(0),
       "translation: sentences of the split decoded for BLEU and chrF2 (0: all)")
      ("source", po::value(&test_set.source),
       "translation: a file of source lines to translate and score in place of a split")
      ("reference", po::value(&test_set.reference),
       "with --source: the file of reference translations, one line per source line")
      ("output", po::value(&test_set.output),
       "with --source: write the detokenized translations to this file")
      ("batch", po::value(&test_set.batch)->default_value(32),
       "with --source: lines decoded together");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(split == "train" || split == "val", "--split must be train or val, got '", split, "'");
  WEFT_CHECK(batches >= 0, "--batches must be >= 0 (0: the run's train.eval_batches), got ",
             batches);
  WEFT_CHECK(search.beam_size >= 1, "--beam must be >= 1, got ", search.beam_size);
  WEFT_CHECK(search.max_extra_length >= 0, "--max-extra must be >= 0, got ",
             search.max_extra_length);
  WEFT_CHECK(max_sentences >= 0, "--max-sentences must be >= 0 (0: all), got ", max_sentences);
  WEFT_CHECK(test_set.batch >= 1, "--batch must be >= 1, got ", test_set.batch);
  WEFT_CHECK(!test_set.source.empty() || test_set.reference.empty(),
             "--reference needs --source (the file of source lines to translate)");
  WEFT_CHECK(!test_set.source.empty() || test_set.output.empty(),
             "--output needs --source (the file of source lines to translate)");
  const auto given = [&](const char* option) {
    return vm.count(option) && !vm[option].defaulted();
  };
  WEFT_CHECK(!test_set.source.empty() || !given("batch"), "--batch needs --source");
  if (!test_set.source.empty()) {
    WEFT_CHECK(!test_set.reference.empty(),
               "--source needs --reference (the file of reference translations to score against)");
    for (const char* option : {"data", "split", "batches", "max-sentences"}) {
      WEFT_CHECK(!given(option), "--", option,
                 " chooses what a split evaluates: it has no use with --source");
    }
    return evaluate_test_set(checkpoint, test_set, search);
  }

  LoadedRun run = load_run(checkpoint);
  const nlohmann::json& rc = run.checkpoint.run_config;
  if (dataset.empty()) dataset = rc.at("data").at("dataset").get<std::string>();
  const DatasetInfo data = open_dataset(dataset);
  WEFT_CHECK(data.tokenizer->vocabulary_hash() == run.tokenizer->vocabulary_hash(),
             "the vocabulary of dataset '", data.dir, "' does not match checkpoint ",
             run.checkpoint.dir, ": evaluate on data prepared with the same tokenizer");

  RunConfig c;
  c.model = run.checkpoint.model_config;
  c.batch_size = rc.at("data").at("batch_size").get<int64_t>();
  c.seq_len = rc.at("data").at("seq_len").get<int64_t>();
  c.max_tokens = rc.at("data").value("max_tokens", int64_t{0});
  c.grad_accum = 1;
  auto stream = make_stream(data, c, split, false);
  if (batches == 0) {
    // A translation split is evaluated whole: one epoch of its batches.
    batches = data.is_translation() ? stream->epoch_position().batches
                                    : rc.at("train").at("eval_batches").get<int64_t>();
  }
  // A masked LM also counts the masked tokens it predicts exactly.
  auto* masked_lm = dynamic_cast<EncoderOnly*>(run.model.get());
  MaskedLmScore mlm;
  LossSum total;
  if (masked_lm) {
    mlm = score_masked_lm(*masked_lm, *stream, batches);
    total = mlm.loss;
  }
  for (int64_t i = 0; i < batches && !masked_lm; ++i) {
    const LossSum part = run.model->forward(stream->next(), StepContext{});
    total.sum += part.sum;
    total.tokens += part.tokens;
  }
  const double loss = total.mean();
  nlohmann::json result = {{"checkpoint", run.checkpoint.dir},
                           {"step", run.checkpoint.step},
                           {"split", split},
                           {"batches", batches},
                           {"loss", loss},
                           {"perplexity", std::exp(loss)}};
  std::printf("%s split: loss %.4f, perplexity %.3f (%ld batches)\n", split.c_str(), loss,
              std::exp(loss), static_cast<long>(batches));
  if (masked_lm) {
    std::printf("%s split: masked-LM accuracy %.2f%% (%ld of %ld masked tokens)\n", split.c_str(),
                100.0 * mlm.accuracy(), static_cast<long>(mlm.correct),
                static_cast<long>(mlm.loss.tokens));
    result["mlm_accuracy"] = mlm.accuracy();
    result["masked_tokens"] = mlm.loss.tokens;
  }
  if (data.is_translation()) {
    const TranslationScore s =
        score_translations(*run.model, data, split, search.beam_size, search.length_penalty,
                           search.max_extra_length, max_sentences);
    std::printf("%s split: BLEU %.2f, chrF2 %.2f, exact match %.2f%% (%ld sentences, beam %ld)\n",
                split.c_str(), s.bleu.score, s.chrf.score, 100.0 * s.exact_match,
                static_cast<long>(s.sentences), static_cast<long>(search.beam_size));
    std::printf("%s\n%s\n", bleu_line(s.bleu).c_str(), chrf_line(s.chrf).c_str());
    result["bleu"] = s.bleu.score;
    result["chrf"] = s.chrf.score;
    result["exact_match"] = s.exact_match;
    result["sentences"] = s.sentences;
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

}  // namespace weft::cli
