// weft export: a checkpoint in another framework's form. Today: Hugging Face
// GPT-2 (config.json + model.safetensors) for GPT-2-shaped models.

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "weft/tensor/error.h"
#include "weft/inference/export_hf.h"

namespace po = boost::program_options;

namespace weft::cli {

int run_export(int argc, char** argv) {
  po::options_description opts("weft export options");
  std::string checkpoint, format, out;
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("format", po::value(&format)->default_value("hf-gpt2"), "hf-gpt2: Hugging Face GPT2LMHeadModel")
      ("out", po::value(&out), "directory to write (required)");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(!out.empty(), "--out is required: the directory to write");
  WEFT_CHECK(format == "hf-gpt2", "--format must be hf-gpt2, got '", format, "'");

  LoadedRun run = load_run(checkpoint);
  check_gpt2_shaped(run.model->config());  // refuse before anything is written
  HfExportOptions options;
  if (run.tokenizer->bos_id() >= 0) options.bos_id = run.tokenizer->bos_id();
  if (run.tokenizer->eos_id() >= 0) options.eos_id = run.tokenizer->eos_id();
  export_hf_gpt2(*run.model, out, options);
  std::cout << "wrote " << out << "/config.json and " << out << "/model.safetensors from "
            << run.checkpoint.dir << "\n";
  return 0;
}

}  // namespace weft::cli
