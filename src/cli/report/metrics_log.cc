#include "cli/report/metrics_log.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "cli/printable_text.h"
#include "weft/tensor/error.h"

namespace weft::cli {
namespace {

// The fields the report plots or computes with: each must be a number (or null).
constexpr const char* kNumericFields[] = {
    "step",  "loss",       "lr",        "grad_norm",      "tokens_per_s",
    "mfu",   "elapsed_s",  "step_s",    "comm_wait_s",    "device_peak_gib",
    "epoch", "tokens",     "val_loss",  "val_perplexity", "exact_match",
    "bleu",  "chrf",       "sentences", "world",          "dp",
    "tp",    "parameters", "peak_flops"};

// A line as a message shows it: printable, and short.
std::string excerpt(const std::string& line) {
  constexpr size_t kShown = 80;
  return printable_text(line.size() > kShown ? line.substr(0, kShown) + "..." : line);
}

double number_or_nan(const nlohmann::json& record, const std::string& field) {
  const auto it = record.find(field);
  if (it == record.end() || !it->is_number()) return std::nan("");
  return it->get<double>();
}

}  // namespace

MetricsLog read_metrics_log(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  WEFT_CHECK(in.good(), "cannot read '", path, "'");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WEFT_CHECK(!in.bad(), "cannot read '", path, "'");

  MetricsLog log;
  double last_train_step = -1.0;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t newline = text.find('\n', begin);
    const bool complete = newline != std::string::npos;
    const std::string line = text.substr(begin, complete ? newline - begin : std::string::npos);
    begin = complete ? newline + 1 : text.size();
    ++log.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;

    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!complete && (record.is_discarded() || !record.is_object())) {
      log.torn_tail_bytes = static_cast<int64_t>(line.size());
      break;
    }
    WEFT_CHECK(!record.is_discarded(), "'", path, "' line ", log.lines,
               " is not JSON (a metrics file holds one JSON object per line): ", excerpt(line));
    WEFT_CHECK(record.is_object() && record.contains("event") && record["event"].is_string(), "'",
               path, "' line ", log.lines,
               " is not a metrics record (a JSON object with a string \"event\"): ", excerpt(line));
    for (const char* field : kNumericFields) {
      const auto it = record.find(field);
      WEFT_CHECK(it == record.end() || it->is_number() || it->is_null(), "'", path, "' line ",
                 log.lines, ": \"", field, "\" of a ", record["event"].get<std::string>(),
                 " record is ", excerpt(it->dump()), ", not a number");
    }

    const std::string event = record["event"].get<std::string>();
    // Quality records from before they carried their step were written after
    // the last step.
    if (event == "quality" && !record.contains("step") && last_train_step >= 0) {
      record["step"] = last_train_step;
    }
    if (event == "train" && record.contains("step") && record["step"].is_number()) {
      const double step = record["step"].get<double>();
      if (step <= last_train_step) {
        std::erase_if(log.records, [step](const nlohmann::json& r) {
          const auto s = r.find("step");
          return s != r.end() && s->is_number() && s->get<double>() >= step;
        });
      }
      last_train_step = step;
    }
    log.records.push_back(std::move(record));
  }
  return log;
}

StepSeries step_series(const MetricsLog& log, const std::string& event, const std::string& field) {
  StepSeries series;
  for (const nlohmann::json& r : log.records) {
    if (r["event"] != event) continue;
    const double step = number_or_nan(r, "step"), value = number_or_nan(r, field);
    if (std::isnan(step) || std::isnan(value)) continue;
    series.steps.push_back(step);
    series.values.push_back(value);
  }
  return series;
}

TokenClock::TokenClock(const MetricsLog& log) {
  double step = 0.0, tokens = 0.0;
  for (const nlohmann::json& r : log.records) {
    if (r["event"] != "train") continue;
    const double s = number_or_nan(r, "step");
    double per_step = number_or_nan(r, "tokens");
    if (std::isnan(per_step)) {
      per_step = std::round(number_or_nan(r, "tokens_per_s") * number_or_nan(r, "step_s"));
    }
    if (std::isnan(s) || std::isnan(per_step) || s <= step) continue;
    if (steps_.empty()) {
      steps_.push_back(0.0);
      tokens_.push_back(0.0);
    }
    tokens += per_step * (s - step);
    step = s;
    steps_.push_back(step);
    tokens_.push_back(tokens);
  }
}

double TokenClock::at(double step) const {
  if (steps_.size() < 2) return std::nan("");
  const auto upper = std::upper_bound(steps_.begin(), steps_.end(), step);
  // Past the last recorded step: at the last record's rate.
  const size_t hi =
      upper == steps_.end() ? steps_.size() - 1 : static_cast<size_t>(upper - steps_.begin());
  const size_t lo = hi - 1;
  const double rate = (tokens_[hi] - tokens_[lo]) / (steps_[hi] - steps_[lo]);
  return tokens_[lo] + rate * (step - steps_[lo]);
}

}  // namespace weft::cli
