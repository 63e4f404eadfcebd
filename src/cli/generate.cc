// weft generate: continue a prompt with a trained language model.

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "weft/model/decoder_only.h"
#include "weft/inference/sampling.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

int run_generate(int argc, char** argv) {
  po::options_description opts("weft generate options");
  std::string checkpoint, prompt;
  int64_t max_new_tokens, samples;
  SamplingOptions sampling;
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("prompt", po::value(&prompt)->default_value("\n"), "text to continue")
      ("max-new-tokens", po::value(&max_new_tokens)->default_value(200), "tokens to generate")
      ("temperature", po::value(&sampling.temperature)->default_value(0.8), "0: greedy")
      ("top-k", po::value(&sampling.top_k)->default_value(0), "keep the k most likely tokens (0: all)")
      ("top-p", po::value(&sampling.top_p)->default_value(1.0), "nucleus: keep tokens up to this mass")
      ("seed", unsigned_value(&sampling.seed)->default_value(1), "sampling seed")
      ("samples", po::value(&samples)->default_value(1), "independent continuations");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(max_new_tokens >= 0, "--max-new-tokens must be >= 0, got ", max_new_tokens);
  WEFT_CHECK(samples >= 1, "--samples must be >= 1, got ", samples);
  sampling.validate();

  LoadedRun run = load_run(checkpoint);
  auto* model = dynamic_cast<DecoderOnly*>(run.model.get());
  WEFT_CHECK(model != nullptr, "checkpoint ", run.checkpoint.dir, " holds ",
             architecture_with_article(run.model->config().architecture), " model: ",
             run.model->config().encoder_only() ? "use 'weft fill'" : "use 'weft translate'");
  const std::vector<int32_t> ids = run.tokenizer->encode(prompt);
  WEFT_CHECK(!ids.empty(), "--prompt encodes to no tokens");
  WEFT_CHECK(static_cast<int64_t>(ids.size()) <= model->config().max_seq_len, "--prompt is ",
             ids.size(), " tokens, longer than the model's context of ",
             model->config().max_seq_len);
  for (int64_t i = 0; i < samples; ++i) {
    SamplingOptions options = sampling;
    options.seed = sampling.seed + static_cast<uint64_t>(i);
    const std::vector<int32_t> out = generate(*model, ids, max_new_tokens, options);
    if (samples > 1) std::cout << "--- sample " << i + 1 << "\n";
    std::cout << prompt << run.tokenizer->decode(out) << "\n";
  }
  return 0;
}

}  // namespace weft::cli
