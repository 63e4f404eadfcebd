// weft average: one checkpoint whose parameters are the element-wise mean of
// a run's last N checkpoints (or of named ones), as the Transformer paper
// averaged its last 5 or 20 and fairseq's average_checkpoints.py does. The
// rest of the average (step, optimizer state, data-loader position) is the
// newest checkpoint's: see average_checkpoints (weft/checkpoint/checkpoint.h).

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "cli/command_options.h"
#include "cli/commands.h"
#include "weft/checkpoint/checkpoint.h"
#include "weft/tensor/error.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace weft::cli {
namespace {

// The newest `last` checkpoints of run directory `run`.
std::vector<std::string> last_checkpoints(const std::string& run, int64_t last) {
  WEFT_CHECK(last >= 1, "--last must be >= 1, got ", last);
  std::error_code ec;
  WEFT_CHECK(fs::is_directory(run, ec), "run directory '", run, "' does not exist");
  WEFT_CHECK(!fs::exists(fs::path(run) / "manifest.json", ec), "'", run,
             "' is one checkpoint, not a run directory: name the checkpoints to average with ",
             "--checkpoints DIR1 DIR2 ...");
  std::vector<std::string> all = list_checkpoints(run);
  WEFT_CHECK(static_cast<int64_t>(all.size()) >= last, "run directory '", run, "' holds ",
             all.size(), " complete checkpoint", all.size() == 1 ? "" : "s", ", fewer than --last ",
             last, " (a run keeps its newest train.keep_checkpoints; raise it to average more)");
  all.resize(static_cast<size_t>(last));
  return all;
}

}  // namespace

int run_average(int argc, char** argv) {
  po::options_description opts("weft average options");
  std::string run, out;
  int64_t last = 0;
  std::vector<std::string> checkpoints;
  opts.add_options()("help,h", "list every option with its default")(
      "checkpoint", po::value(&run), "run directory whose newest checkpoints are averaged")(
      "last", po::value(&last)->default_value(5), "how many of its newest checkpoints, by step")(
      "checkpoints", po::value(&checkpoints)->multitoken(),
      "checkpoint directories to average instead of a run's last ones")(
      "out", po::value(&out),
      "directory to write the averaged checkpoint to (required; must not exist or be empty). "
      "It holds the mean of every parameter, in the dtype the run stores; its step, AdamW "
      "moments and step count, data-loader position, seed, run config and tokenizers are the "
      "newest checkpoint's, so training resumed from it goes on from there with averaged "
      "weights");
  po::variables_map vm;
  if (!parse_command_options(argc, argv, opts, vm)) return 0;
  WEFT_CHECK(!out.empty(), "--out is required: the directory to write the averaged checkpoint to");
  WEFT_CHECK(run.empty() != checkpoints.empty(),
             "give either --checkpoint RUN (with --last N) or --checkpoints DIR1 DIR2 ...",
             run.empty() ? "" : ", not both");
  if (!run.empty()) {
    checkpoints = last_checkpoints(run, last);
  } else {
    WEFT_CHECK(vm["last"].defaulted(), "--last counts a run's checkpoints (--checkpoint RUN); ",
               "--checkpoints names them itself");
  }

  const Checkpoint average = average_checkpoints(checkpoints, out);
  std::cout << "averaged the parameters of step";
  const nlohmann::json& steps = average.manifest.at("average").at("steps");
  if (steps.size() > 1) std::cout << "s";
  for (size_t i = 0; i < steps.size(); ++i)
    std::cout << (i ? ", " : " ") << steps[i].get<int64_t>();
  std::cout << " into " << average.dir << " (step " << average.step << ")\n";
  return 0;
}

}  // namespace weft::cli
