#include "cli/report/report_plots.h"

#include <algorithm>
#include <functional>

namespace weft::cli {
namespace {

// One series of a plot and what it means when the log lacks it.
struct SeriesSource {
  std::string name;
  StepSeries points;
  std::string when_absent;  // "not recorded: ..." ends the note
};

StepSeries scaled(StepSeries s, double factor) {
  for (double& v : s.values) v *= factor;
  return s;
}

// The share of each train record's step_s spent in comm_wait_s, in percent.
StepSeries comm_wait_share(const MetricsLog& log) {
  const StepSeries wait = step_series(log, "train", "comm_wait_s");
  const StepSeries step = step_series(log, "train", "step_s");
  StepSeries share;
  size_t j = 0;
  for (size_t i = 0; i < wait.steps.size(); ++i) {
    while (j < step.steps.size() && step.steps[j] < wait.steps[i]) ++j;
    if (j == step.steps.size() || step.steps[j] != wait.steps[i] || step.values[j] <= 0) continue;
    share.steps.push_back(wait.steps[i]);
    share.values.push_back(100.0 * wait.values[i] / step.values[j]);
  }
  return share;
}

bool all_zero(const StepSeries& s) {
  return std::all_of(s.values.begin(), s.values.end(), [](double v) { return v == 0.0; });
}

class PlotList {
 public:
  // Adds the plot when any of `sources` has points and returns it; otherwise
  // adds one omitted line "TITLE: <the first source's when_absent>" and
  // returns null. `x_of` maps a step to the x axis.
  ReportPlot* add(
      std::string file, std::string title, std::string x_label, std::string y_label,
      bool y_from_zero, std::vector<SeriesSource> sources,
      const std::function<double(double)>& x_of = [](double step) { return step; }) {
    ReportPlot p{std::move(file),
                 {std::move(title), std::move(x_label), std::move(y_label), {}, y_from_zero},
                 {}};
    for (SeriesSource& s : sources) {
      if (s.points.steps.empty()) {
        p.notes.push_back(s.name + ": " + s.when_absent);
        continue;
      }
      PlotSeries series{s.name, {}, std::move(s.points.values)};
      for (const double step : s.points.steps) series.x.push_back(x_of(step));
      p.plot.series.push_back(std::move(series));
    }
    if (p.plot.series.empty()) {
      plots_.omitted.push_back(p.plot.title + ": " + sources.front().when_absent);
      return nullptr;
    }
    plots_.drawn.push_back(std::move(p));
    return &plots_.drawn.back();
  }
  void omit(const std::string& line) { plots_.omitted.push_back(line); }
  ReportPlots take() { return std::move(plots_); }

 private:
  ReportPlots plots_;
};

}  // namespace

ReportPlots report_plots(const MetricsLog& log) {
  const std::string no_steps = "not recorded: metrics.jsonl has no train records yet";
  const auto train = [&](const char* field) { return step_series(log, "train", field); };
  const SeriesSource train_loss{"train", train("loss"), no_steps};
  const SeriesSource val_loss{"validation", step_series(log, "eval", "val_loss"),
                              "not recorded: no evaluation yet (train.eval_every)"};

  PlotList plots;
  plots.add("loss_steps.svg", "Loss against steps", "step", "loss", false, {train_loss, val_loss});
  const TokenClock clock(log);
  if (clock.empty()) {
    plots.omit("Loss against tokens: not recorded: the train records count no tokens");
  } else {
    plots.add("loss_tokens.svg", "Loss against tokens", "target tokens trained on", "loss", false,
              {train_loss, val_loss}, [&](double step) { return clock.at(step); });
  }
  plots.add("learning_rate.svg", "Learning rate", "step", "learning rate", true,
            {{"learning rate", train("lr"), no_steps}});
  plots.add("grad_norm.svg", "Gradient norm", "step", "global norm before clipping", true,
            {{"gradient norm", train("grad_norm"), no_steps}});
  plots.add("throughput.svg", "Throughput", "step", "tokens/s", true,
            {{"tokens/s", train("tokens_per_s"), no_steps}});
  plots.add("mfu.svg", "Model FLOPs utilisation", "step", "MFU (%)", true,
            {{"MFU", scaled(train("mfu"), 100.0), no_steps}});

  // A single rank waits for no one: a line of zeros would say nothing.
  const StepSeries wait = comm_wait_share(log);
  if (!wait.steps.empty() && all_zero(wait)) {
    plots.omit("Communication wait: zero at every step (no collectives: one rank)");
  } else {
    plots.add("comm_wait.svg", "Communication wait", "step", "share of the step (%)", true,
              {{"waiting in TP and DP collectives", wait, no_steps}});
  }
  const StepSeries memory = train("device_peak_gib");
  if (!memory.steps.empty() && all_zero(memory)) {
    plots.omit("Peak device memory: not recorded (a CPU run has no device arena)");
  } else {
    plots.add("device_memory.svg", "Peak device memory", "step", "GiB", true,
              {{"peak device memory", memory, no_steps}});
  }

  const std::string no_quality =
      "not recorded: no quality records (a language model, or a translation run that has not "
      "finished)";
  // Scored at the end of the run: the axis shows where in the run that was.
  ReportPlot* quality = plots.add(
      "translation_quality.svg", "Held-out translation quality (greedy)", "step", "score", true,
      {{"BLEU", step_series(log, "quality", "bleu"), no_quality},
       {"chrF2", step_series(log, "quality", "chrf"), no_quality},
       {"exact match (%)", scaled(step_series(log, "quality", "exact_match"), 100.0), no_quality}});
  if (quality != nullptr) quality->plot.x_from_zero = true;
  return plots.take();
}

}  // namespace weft::cli
