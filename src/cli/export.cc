// weft export: a checkpoint in another framework's form: Hugging Face GPT-2
// (config.json + model.safetensors) for GPT-2-shaped models, Hugging Face
// Marian (model, generation config and MarianTokenizer files) for 2017
// encoder-decoders with SentencePiece vocabularies.

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "weft/inference/export_hf.h"
#include "weft/inference/export_hf_bert.h"
#include "weft/inference/export_hf_llama.h"
#include "weft/inference/export_hf_marian.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {

int run_export(int argc, char** argv) {
  po::options_description opts("weft export options");
  std::string checkpoint, format, out;
  HfMarianOptions marian;
  // clang-format off
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("format", po::value(&format)->default_value("hf-gpt2"),
       "hf-gpt2: Hugging Face GPT2LMHeadModel; hf-llama: LlamaForCausalLM; hf-bert: BertForMaskedLM; hf-marian: Hugging Face MarianMTModel and "
       "MarianTokenizer")
      ("out", po::value(&out), "directory to write (required)")
      ("source-lang", po::value(&marian.source_lang),
       "hf-marian: the source language code for tokenizer_config.json (default: none)")
      ("target-lang", po::value(&marian.target_lang),
       "hf-marian: the target language code for tokenizer_config.json (default: none)");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(!out.empty(), "--out is required: the directory to write");
  WEFT_CHECK(format == "hf-gpt2" || format == "hf-marian" || format == "hf-llama" ||
                 format == "hf-bert",
             "--format must be hf-gpt2, hf-llama, hf-bert or hf-marian, got '", format, "'");

  LoadedRun run = load_run(checkpoint);
  if (format == "hf-marian") {
    // Refused before anything is written.
    check_marian_shaped(run.model->config());
    check_marian_tokenizers(run.model->config(), *run.source_tokenizer, *run.tokenizer);
    export_hf_marian(*run.model, *run.source_tokenizer, *run.tokenizer, out, marian);
    const bool separate = !run.model->config().shared_vocabulary();
    std::cout << "wrote " << out << "/{config.json, generation_config.json, model.safetensors, "
              << "source.spm, target.spm, vocab.json, " << (separate ? "target_vocab.json, " : "")
              << "tokenizer_config.json} from " << run.checkpoint.dir << "\n";
    return 0;
  }
  if (format == "hf-bert") {
    check_bert_shaped(run.model->config());  // refused before anything is written
    export_hf_bert(*run.model, out);
    std::cout << "wrote " << out << "/config.json and " << out << "/model.safetensors from "
              << run.checkpoint.dir << "\n";
    return 0;
  }
  // Refused before anything is written.
  const bool llama = format == "hf-llama";
  if (llama) {
    check_llama_shaped(run.model->config());
  } else {
    check_gpt2_shaped(run.model->config());
  }
  HfExportOptions options;
  if (run.tokenizer->bos_id() >= 0) options.bos_id = run.tokenizer->bos_id();
  if (run.tokenizer->eos_id() >= 0) options.eos_id = run.tokenizer->eos_id();
  if (llama) {
    export_hf_llama(*run.model, out, options);
  } else {
    export_hf_gpt2(*run.model, out, options);
  }
  std::cout << "wrote " << out << "/config.json and " << out << "/model.safetensors from "
            << run.checkpoint.dir << "\n";
  return 0;
}

}  // namespace weft::cli
