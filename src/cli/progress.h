#pragma once
// What a run shows and records: a progress line (refreshed in place on a
// terminal, plain lines otherwise) and metrics as JSON lines in the run
// directory (metrics.jsonl), one object per event.

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace weft::cli {

struct ProgressFigures {
  int64_t step = 0, total = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, mfu = 0, eta_s = 0;
  double epochs = -1;  // epochs drawn (fractional); < 0: not shown
};

class Progress {
 public:
  // mode: "auto" | "plain" | "none" (messages only) | "silent" (nothing: the
  // ranks other than 0); metrics are appended to metrics_path (empty: none
  // are recorded).
  Progress(const std::string& mode, const std::string& metrics_path);

  void step(const ProgressFigures& f);        // the progress line
  // One metrics line; a failed write throws weft::Error naming the file.
  void record(const nlohmann::json& event);
  // A message on its own line (ends a refreshed progress line first).
  void say(const std::string& text);

 private:
  // Truncates `path` after its last newline when a record was torn.
  static void drop_torn_last_line(const std::string& path);

  bool refresh_;   // rewrite one line with '\r'
  bool quiet_;
  bool silent_;
  bool dirty_ = false;
  bool records_;
  std::string metrics_path_;
  std::ofstream metrics_;
};

std::string format_duration(double seconds);

}  // namespace weft::cli
