// weft: one executable, one subcommand per task.

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "cli/printable_text.h"
#include "weft/tensor/error.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const Command kCommands[] = {
    {"prepare", "turn text into a dataset of token shards", weft::cli::run_prepare},
    {"train", "train a model from a config and/or --section.key options", weft::cli::run_train},
    {"eval",
     "loss and perplexity of a checkpoint (BLEU, chrF2, exact match for translation; masked-LM "
     "accuracy; "
     "--source/--reference: score an outside test set)",
     weft::cli::run_eval},
    {"generate", "continue a prompt with a language model", weft::cli::run_generate},
    {"fill", "guess the [MASK] tokens of a text with a masked language model",
     weft::cli::run_fill},
    {"translate", "translate lines of stdin or a file", weft::cli::run_translate},
    {"export", "write a checkpoint in Hugging Face form (GPT-2, LLaMA, BERT, Marian)",
     weft::cli::run_export},
    {"average", "average the parameters of a run's last checkpoints into a new one",
     weft::cli::run_average},
    {"bench", "measure training tokens/s, GFLOP/s and MFU of a model", weft::cli::run_bench},
    {"report", "write a run's report.html: plots of its metrics, its layout and config",
     weft::cli::run_report},
};

void print_usage(FILE* out) {
  std::fprintf(out, "usage: weft <command> [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'weft <command> --help' lists a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const weft::Error& e) {
      std::fprintf(stderr, "weft %s: %s\n", c.name, weft::cli::printable_text(e.message()).c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "weft %s: %s\n", c.name, weft::cli::printable_text(e.what()).c_str());
      return 2;
    }
  }
  std::fprintf(stderr, "weft: unknown command '%s'\n\n", argv[1]);
  print_usage(stderr);
  return 2;
}
