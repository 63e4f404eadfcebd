// read_metrics_log and the report made from it: a run's metrics.jsonl given
// to weft report, through the plots, their SVG and the page (in memory).

#include "cli/report/metrics_log.h"
#include "cli/report/report_plots.h"
#include "cli/report/run_report.h"
#include "cli/report/svg_plot.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  const std::string path = fuzz::write_file("metrics.jsonl", fuzz::as_text(data, size));
  fuzz::accept_or_refuse([&] {
    const cli::MetricsLog log = cli::read_metrics_log(path);
    const cli::ReportPlots plots = cli::report_plots(log);
    for (const cli::ReportPlot& p : plots.drawn) cli::render_svg_plot(p.plot);
    cli::render_report_page("run", log, nullptr, plots);
  });
  return 0;
}
