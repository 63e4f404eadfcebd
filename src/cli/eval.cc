// weft eval: loss and perplexity of a checkpoint on a split; for translation
// also corpus BLEU (as sacreBLEU) and exact match of decoded outputs.

#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "cli/run_data.h"
#include "weft/data/loader.h"
#include "weft/inference/translation_score.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

int run_eval(int argc, char** argv) {
  po::options_description opts("weft eval options");
  std::string checkpoint, dataset, split;
  int64_t batches, beam, max_extra, max_sentences;
  double alpha;
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("data", po::value(&dataset), "dataset directory (default: the one the run trained on)")
      ("split", po::value(&split)->default_value("val"), "train | val")
      ("batches", po::value(&batches)->default_value(0),
       "batches to evaluate the loss on (0: the run's train.eval_batches; a whole epoch for translation)")
      ("beam", po::value(&beam)->default_value(1), "translation: beam size for BLEU (1: greedy)")
      ("alpha", po::value(&alpha)->default_value(0.6), "translation: length penalty")
      ("max-extra", po::value(&max_extra)->default_value(50),
       "translation: longest output is input length + this")
      ("max-sentences", po::value(&max_sentences)->default_value(0),
       "translation: sentences decoded for BLEU (0: all)");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(split == "train" || split == "val", "--split must be train or val, got '", split, "'");
  WEFT_CHECK(batches >= 0, "--batches must be >= 0 (0: the run's train.eval_batches), got ",
             batches);
  WEFT_CHECK(beam >= 1, "--beam must be >= 1, got ", beam);
  WEFT_CHECK(max_extra >= 0, "--max-extra must be >= 0, got ", max_extra);
  WEFT_CHECK(max_sentences >= 0, "--max-sentences must be >= 0 (0: all), got ", max_sentences);

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
  c.grad_accum = 1;
  auto stream = make_stream(data, c, split, false);
  if (batches == 0) {
    batches = rc.at("train").at("eval_batches").get<int64_t>();
    if (data.is_translation()) {
      batches = TranslationLoader(data, split, c.batch_size, 0, false, 0).batches_per_epoch();
    }
  }
  LossSum total;
  for (int64_t i = 0; i < batches; ++i) {
    const LossSum part = run.model->forward(stream->next(), StepContext{});
    total.sum += part.sum;
    total.tokens += part.tokens;
  }
  const double loss = total.mean();
  nlohmann::json result = {{"checkpoint", run.checkpoint.dir}, {"step", run.checkpoint.step},
                           {"split", split}, {"batches", batches}, {"loss", loss},
                           {"perplexity", std::exp(loss)}};
  std::printf("%s split: loss %.4f, perplexity %.3f (%ld batches)\n", split.c_str(), loss,
              std::exp(loss), static_cast<long>(batches));
  if (data.is_translation()) {
    const TranslationScore s = score_translations(*run.model, data, split, beam, alpha, max_extra, max_sentences);
    std::printf("%s split: BLEU %.2f, exact match %.2f%% (%ld sentences, beam %ld)\n",
                split.c_str(), s.bleu, 100.0 * s.exact_match, static_cast<long>(s.sentences),
                static_cast<long>(beam));
    result["bleu"] = s.bleu;
    result["exact_match"] = s.exact_match;
    result["sentences"] = s.sentences;
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

}  // namespace weft::cli
