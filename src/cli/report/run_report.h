#pragma once
// A run's report: RUN/report.html, a page without script that opens from the
// file system, showing the plots of its metrics.jsonl (RUN/report/*.svg,
// linked by relative path, also usable on their own), the parallel layout
// and the effective config (config.json) as tables.
//
// Every file is written atomically, the page last, so that a reader (or a
// browser refreshing it while the run goes on) sees a whole report, the
// previous one or none. Nothing but report.html and report/ is written.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/report/metrics_log.h"
#include "cli/report/report_plots.h"

namespace weft::cli {

struct ReportWritten {
  std::string page;                  // RUN/report.html
  int64_t plots = 0;                 // SVG files written
  std::vector<std::string> omitted;  // one line per plot left out
  int64_t torn_tail_bytes = 0;       // of metrics.jsonl's last line, left out
};

// Reads RUN/metrics.jsonl and RUN/config.json and writes the report. Throws
// weft::Error naming what is wrong: RUN missing or not a directory, no
// metrics.jsonl or no record in it, a corrupt line (by number), a
// config.json that is not a JSON object, RUN/report in the way.
ReportWritten write_run_report(const std::string& run_dir);

// The page itself, from what write_run_report read; `config` is null when the
// run directory holds no config.json.
std::string render_report_page(const std::string& run_name, const MetricsLog& log,
                               const nlohmann::json& config, const ReportPlots& plots);

}  // namespace weft::cli
