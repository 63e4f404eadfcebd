#pragma once
// A run's metrics.jsonl read back for its report: one JSON object per line,
// each with an "event" ("start", "train", "eval", "quality", "checkpoint";
// others are kept and ignored by the plots) and mostly a "step".
//
// A resumed run goes on from its checkpoint, so the steps after it that the
// interrupted run had already recorded appear twice: when a "train" record's
// step is not past the previous one's, every earlier record of that step or
// later is dropped, and the log reads as one run. A last line without its
// newline is a record torn by a kill or still being written: it is left out
// (and counted), as the next `weft train --train.resume` drops it too.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace weft::cli {

struct MetricsLog {
  std::vector<nlohmann::json> records;  // in file order, replayed steps removed
  int64_t lines = 0;                    // lines read, the torn one included
  int64_t torn_tail_bytes = 0;          // > 0: the last line was incomplete and left out
};

// Reads `path`. Throws weft::Error naming the file and the line when a line is
// not a JSON object with a string "event", or when a field the report plots
// ("step", "loss", ...) holds something other than a number (null, which
// JSON writes for NaN, counts as no value).
MetricsLog read_metrics_log(const std::string& path);

// One numeric field of one kind of record against the step:
// series(log, "train", "loss"). Records without the field, or with null,
// contribute no point.
struct StepSeries {
  std::vector<double> steps, values;
};
StepSeries step_series(const MetricsLog& log, const std::string& event, const std::string& field);

// The target tokens trained on by the end of each step, from the "train"
// records: each record's step counts its "tokens" (or, in logs from before
// that field, tokens_per_s x step_s) for itself and the unrecorded steps
// since the previous record (train.log_every > 1).
class TokenClock {
 public:
  explicit TokenClock(const MetricsLog& log);
  bool empty() const { return steps_.empty(); }
  // Tokens by the end of `step`: linear between recorded steps, at the last
  // recorded step's rate past it.
  double at(double step) const;

 private:
  std::vector<double> steps_, tokens_;  // starting at (0, 0)
};

}  // namespace weft::cli
