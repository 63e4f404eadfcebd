// weft translate: one translation per input line, from stdin or a file.

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/load_run.h"
#include "cli/translate_lines.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;

namespace weft::cli {
namespace {

// `lines` are input lines first_line, first_line + 1, ... (counted from 1).
void translate_batch(EncoderDecoder& model, const LoadedRun& run,
                     const std::vector<std::string>& lines, int64_t first_line,
                     const BeamSearchOptions& options, std::ostream& out) {
  for (const std::string& h : translate_lines(model, run, lines, first_line, options).hypotheses) {
    out << h << "\n";
  }
  out.flush();
}

}  // namespace

int run_translate(int argc, char** argv) {
  po::options_description opts("weft translate options");
  std::string checkpoint, input;
  BeamSearchOptions options;
  int64_t batch;
  // clang-format off
  opts.add_options()
      ("help,h", "list every option with its default")
      ("checkpoint", po::value(&checkpoint), kCheckpointHelp)
      ("input", po::value(&input), "file of source lines (default: stdin)")
      ("beam", po::value(&options.beam_size)->default_value(4), "beam size (1: greedy)")
      ("alpha", po::value(&options.length_penalty)->default_value(0.6, "0.6"),
       "length penalty ((5+|Y|)/6)^alpha")
      ("max-extra", po::value(&options.max_extra_length)->default_value(50),
       "longest output: input length + this")
      ("batch", po::value(&batch)->default_value(32), "lines decoded together");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(checkpoint, "checkpoint", "a run directory or checkpoint");
  WEFT_CHECK(batch >= 1, "--batch must be >= 1, got ", batch);
  std::ifstream file;
  if (!input.empty()) {
    file.open(input);
    WEFT_CHECK(file.good(), "--input '", input, "' cannot be read");
  }
  std::istream& in = input.empty() ? std::cin : file;

  LoadedRun run = load_run(checkpoint);
  EncoderDecoder& model = translation_model(run, "use 'weft generate'");
  options = with_run_tokens(options, run, model);

  std::vector<std::string> lines;
  std::string line;
  int64_t first_line = 1;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    if (static_cast<int64_t>(lines.size()) == batch) {
      translate_batch(model, run, lines, first_line, options, std::cout);
      first_line += batch;
      lines.clear();
    }
  }
  if (!lines.empty()) translate_batch(model, run, lines, first_line, options, std::cout);
  return 0;
}

}  // namespace weft::cli
