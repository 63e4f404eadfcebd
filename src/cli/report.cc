// weft report: a run directory's report.html, its plots and tables, from what
// the run recorded (metrics.jsonl, config.json); see cli/report/run_report.h.
// weft train refreshes the same report at each evaluation and at its end:
// this command makes one for a run still going on elsewhere, one stopped,
// or one from before runs wrote their own.

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "cli/report/run_report.h"

namespace po = boost::program_options;

namespace weft::cli {

int run_report(int argc, char** argv) {
  po::options_description opts("weft report options");
  std::string run;
  // clang-format off
  opts.add_options()
      ("help,h", "list every option")
      ("run", po::value(&run),
       "run directory (a weft train run's train.out): writes report.html and report/*.svg "
       "there, from its metrics.jsonl and config.json");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  require_option(run, "run", "the run directory to report on");

  const ReportWritten written = write_run_report(run);
  if (written.torn_tail_bytes > 0) {
    std::cerr << "metrics.jsonl: left out an incomplete last line of " << written.torn_tail_bytes
              << " bytes\n";
  }
  for (const std::string& line : written.omitted) std::cout << "  left out: " << line << "\n";
  std::cout << "wrote " << written.page << " (" << written.plots << " plots)\n";
  return 0;
}

}  // namespace weft::cli
