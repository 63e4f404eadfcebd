#include "cli/report/run_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "cli/progress.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace fs = std::filesystem;

namespace weft::cli {
namespace {

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 16px; color: #222;
       max-width: 1320px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.summary { color: #444; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #e4e4e4; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #777; padding: 0 8px 6px; max-width: 624px; }
.omitted { color: #777; font-size: 14px; }
.tables { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 10px; text-align: left; vertical-align: top; }
th.section { background: #f3f3f3; }
td.key { font-family: "DejaVu Sans Mono", monospace; }
)";

std::string text_of(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// A numeric field, or nothing when it is absent or null (NaN, as JSON writes it).
std::optional<double> number(const nlohmann::json& record, const char* field) {
  const auto it = record.find(field);
  if (it == record.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string figure(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// The record of `event` that comes last, or null.
const nlohmann::json* last_record(const MetricsLog& log, const std::string& event) {
  for (auto it = log.records.rbegin(); it != log.records.rend(); ++it) {
    if ((*it)["event"] == event) return &*it;
  }
  return nullptr;
}

// One sentence of headline figures: steps, time, last losses, last scores.
std::string summary(const MetricsLog& log, const nlohmann::json& config) {
  std::vector<std::string> parts;
  if (const nlohmann::json* t = last_record(log, "train")) {
    std::string steps = "step " + text_of(t->value("step", nlohmann::json()));
    if (config.is_object() && config.contains("train") && config["train"].contains("steps")) {
      steps += " of " + text_of(config["train"]["steps"]);
    }
    // Up to 30 years: format_duration counts whole seconds in a long.
    if (const auto elapsed = number(*t, "elapsed_s"); elapsed && *elapsed >= 0 && *elapsed < 1e9) {
      steps += " after " + format_duration(*elapsed);
    }
    parts.push_back(steps);
    if (const auto loss = number(*t, "loss"))
      parts.push_back("train loss " + figure(*loss, "%.4f"));
  }
  const StepSeries val = step_series(log, "eval", "val_loss");
  if (!val.values.empty()) {
    const auto best = std::min_element(val.values.begin(), val.values.end());
    const size_t i = static_cast<size_t>(best - val.values.begin());
    parts.push_back("validation loss " + figure(val.values.back(), "%.4f") + " (best " +
                    figure(*best, "%.4f") + " at step " + figure(val.steps[i], "%.0f") + ")");
  }
  if (const nlohmann::json* q = last_record(log, "quality")) {
    std::vector<std::string> scores;
    if (const auto bleu = number(*q, "bleu")) scores.push_back("BLEU " + figure(*bleu, "%.2f"));
    if (const auto chrf = number(*q, "chrf")) scores.push_back("chrF2 " + figure(*chrf, "%.2f"));
    if (const auto exact = number(*q, "exact_match")) {
      scores.push_back("exact match " + figure(100.0 * *exact, "%.1f") + "%");
    }
    std::string held_out;
    for (size_t i = 0; i < scores.size(); ++i) held_out += (i ? ", " : "held-out ") + scores[i];
    if (!held_out.empty()) parts.push_back(held_out);
  }
  std::string line;
  for (size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  return line;
}

std::string row(const std::string& key, const std::string& value) {
  return "<tr><td class=\"key\">" + escape_markup(key) + "</td><td>" + escape_markup(value) +
         "</td></tr>\n";
}

// The layout of the run's last start (a resumed run may have changed it).
std::string layout_table(const MetricsLog& log, const nlohmann::json& config) {
  const nlohmann::json* start = last_record(log, "start");
  if (start == nullptr) {
    std::string text =
        "<p class=\"omitted\">Not recorded: metrics.jsonl has no start record (a run from a "
        "weft before it recorded its layout).";
    if (config.is_object() && config.contains("parallel")) {
      text += " The [parallel] keys of the config are below.";
    }
    return text + "</p>\n";
  }
  std::string table = "<table>\n";
  const std::pair<const char*, const char*> rows[] = {
      {"world", "ranks"},
      {"dp", "data-parallel replicas"},
      {"tp", "tensor-parallel ranks per replica"},
      {"sequence_parallel", "sequence parallelism"},
      {"zero", "ZeRO-1 optimizer sharding"},
      {"communicator", "communicator"},
      {"compute", "compute"},
      {"parameters", "parameters"},
      {"peak_flops", "peak FLOP/s (a large GEMM, rank 0)"},
      {"step", "started at step"}};
  for (const auto& [field, label] : rows) {
    if (!start->contains(field)) continue;
    const nlohmann::json& v = (*start)[field];
    std::string value = text_of(v);
    if (v.is_number() && std::string(field) == "peak_flops") {
      value = figure(v.get<double>() / 1e9, "%.1f") + " G";
    }
    table += row(label, value);
  }
  return table + "</table>\n";
}

// One table per [section], side by side: the config is long and narrow.
std::string config_table(const nlohmann::json& config) {
  if (!config.is_object()) {
    return "<p class=\"omitted\">Not recorded: the run directory holds no config.json.</p>\n";
  }
  std::string tables = "<div class=\"tables\">\n";
  std::string loose;  // keys outside any section
  for (const auto& [section, keys] : config.items()) {
    if (!keys.is_object()) {
      loose += row(section, text_of(keys));
      continue;
    }
    tables += "<table>\n<tr><th class=\"section\" colspan=\"2\">[" + escape_markup(section) +
              "]</th></tr>\n";
    for (const auto& [key, value] : keys.items()) tables += row(key, text_of(value));
    tables += "</table>\n";
  }
  if (!loose.empty()) tables += "<table>\n" + loose + "</table>\n";
  return tables + "</div>\n";
}

nlohmann::json read_config(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return nullptr;
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WEFT_CHECK(in.good() || in.eof(), "cannot read '", path.string(), "'");
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  WEFT_CHECK(!config.is_discarded() && config.is_object(), "'", path.string(),
             "' is not a JSON object: a run's config.json holds its effective config, one "
             "object per [section]");
  return config;
}

}  // namespace

std::string render_report_page(const std::string& run_name, const MetricsLog& log,
                               const nlohmann::json& config, const ReportPlots& plots) {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<title>weft run " + escape_markup(run_name) + "</title>\n<style>" + kStyle +
          "</style>\n</head>\n<body>\n";
  page += "<h1>weft run " + escape_markup(run_name) + "</h1>\n";
  page += "<p class=\"summary\">" + escape_markup(summary(log, config)) + "</p>\n";
  if (log.torn_tail_bytes > 0) {
    page += "<p class=\"omitted\">The last line of metrics.jsonl (" +
            std::to_string(log.torn_tail_bytes) +
            " bytes) is incomplete and left out: a record torn or still being written.</p>\n";
  }
  page += "<h2>Training</h2>\n<div class=\"plots\">\n";
  for (const ReportPlot& p : plots.drawn) {
    page += "<figure><img src=\"report/" + escape_markup(p.file) +
            "\" width=\"640\" height=\"360\" alt=\"" + escape_markup(p.plot.title) + "\">";
    if (!p.notes.empty()) {
      page += "<figcaption>";
      for (size_t i = 0; i < p.notes.size(); ++i) {
        page += (i ? "<br>" : "") + escape_markup(p.notes[i]);
      }
      page += "</figcaption>";
    }
    page += "</figure>\n";
  }
  page += "</div>\n";
  if (!plots.omitted.empty()) {
    page += "<p class=\"omitted\">Plots left out:</p>\n<ul class=\"omitted\">\n";
    for (const std::string& line : plots.omitted) page += "<li>" + escape_markup(line) + "</li>\n";
    page += "</ul>\n";
  }
  page += "<h2>Parallel layout</h2>\n" + layout_table(log, config);
  page += "<h2>Effective config</h2>\n" + config_table(config);
  page += "<p class=\"omitted\">Made from metrics.jsonl (" + std::to_string(log.records.size()) +
          " records) and config.json; weft train refreshes it at each evaluation, weft report "
          "--run DIR at any time.</p>\n";
  return page + "</body>\n</html>\n";
}

ReportWritten write_run_report(const std::string& run_dir) {
  std::error_code ec;
  WEFT_CHECK(fs::exists(run_dir, ec), "run directory '", run_dir, "' does not exist");
  WEFT_CHECK(fs::is_directory(run_dir, ec), "'", run_dir,
             "' is not a directory: give a run directory (a weft train run's train.out)");
  const fs::path dir(run_dir);
  const fs::path metrics = dir / "metrics.jsonl";
  WEFT_CHECK(fs::is_regular_file(metrics, ec), "'", run_dir,
             "' holds no metrics.jsonl: give a run directory (a weft train run's train.out)");
  const MetricsLog log = read_metrics_log(metrics.string());
  WEFT_CHECK(!log.records.empty(), "'", metrics.string(),
             "' holds no records yet: the run has logged no step");
  const nlohmann::json config = read_config(dir / "config.json");

  const fs::path folder = dir / "report";
  WEFT_CHECK(!fs::exists(folder, ec) || fs::is_directory(folder, ec), "'", folder.string(),
             "' is in the way: the report's plots go into a folder of that name; move it");
  fs::create_directories(folder, ec);
  WEFT_CHECK(!ec, "cannot create '", folder.string(), "': ", ec.message());

  const ReportPlots plots = report_plots(log);
  for (const ReportPlot& p : plots.drawn) {
    write_file_atomically((folder / p.file).string(), render_svg_plot(p.plot));
  }
  // Named by its folder: "runs/x/" and "." name it too.
  fs::path absolute = fs::absolute(dir).lexically_normal();
  if (absolute.filename().empty()) absolute = absolute.parent_path();
  const std::string run_name = absolute.filename().string();
  const std::string page = (dir / "report.html").string();
  write_file_atomically(page, render_report_page(run_name, log, config, plots));
  return {page, static_cast<int64_t>(plots.drawn.size()), plots.omitted, log.torn_tail_bytes};
}

}  // namespace weft::cli
