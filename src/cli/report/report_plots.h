#pragma once
// The plots of a run's report, from its metrics.jsonl: losses against steps
// and against tokens, learning rate, gradient norm, throughput, MFU, the
// share of each step spent waiting in collectives, peak device memory, and
// the held-out translation scores. A plot none of whose series the log
// records is left out with a line saying why; a plot missing only some of
// its series says which.

#include <string>
#include <vector>

#include "cli/report/metrics_log.h"
#include "cli/report/svg_plot.h"

namespace weft::cli {

struct ReportPlot {
  std::string file;                // its SVG's name in the report folder: "loss_steps.svg"
  Plot plot;                       // only series with points
  std::vector<std::string> notes;  // one per series left out: "validation: not recorded ..."
};

struct ReportPlots {
  std::vector<ReportPlot> drawn;
  std::vector<std::string> omitted;  // one line per plot left out, naming it and why
};

ReportPlots report_plots(const MetricsLog& log);

}  // namespace weft::cli
