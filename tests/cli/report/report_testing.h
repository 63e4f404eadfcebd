#pragma once
// Reading plots back in the report tests: the polylines of an SVG and the
// points each holds, and synthetic metrics.jsonl records.

#include <regex>
#include <string>

namespace weft::testing {

// Polylines drawn as series.
inline int polyline_count(const std::string& svg) {
  int n = 0;
  for (size_t at = svg.find("<polyline class=\"series\""); at != std::string::npos;
       at = svg.find("<polyline class=\"series\"", at + 1)) {
    ++n;
  }
  return n;
}

// The points of the series named `name` (as escaped in the SVG); -1 when it
// is not drawn.
inline int points_of(const std::string& svg, const std::string& name) {
  const std::regex line("data-series=\"" + name + "\"[^>]*points=\"([^\"]*)\"");
  std::smatch m;
  if (!std::regex_search(svg, m, line)) return -1;
  const std::string points = m[1].str();
  if (points.empty()) return 0;
  int n = 1;
  for (const char c : points) n += c == ' ';
  return n;
}

// One "train" record of the kind weft train writes.
inline std::string train_record(int step, double loss, double comm_wait_s = 0.0) {
  return "{\"event\":\"train\",\"step\":" + std::to_string(step) +
         ",\"loss\":" + std::to_string(loss) + ",\"lr\":0.001,\"grad_norm\":0.5,\"tokens\":512," +
         "\"tokens_per_s\":5000.0,\"mfu\":0.2,\"elapsed_s\":" + std::to_string(0.1 * step) +
         ",\"step_s\":0.1,\"comm_wait_s\":" + std::to_string(comm_wait_s) +
         ",\"device_peak_gib\":0.0,\"epoch\":0.0}\n";
}

inline std::string eval_record(int step, double loss) {
  return "{\"event\":\"eval\",\"step\":" + std::to_string(step) +
         ",\"val_loss\":" + std::to_string(loss) + ",\"val_perplexity\":10.0}\n";
}

}  // namespace weft::testing
