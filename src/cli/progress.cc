#include "cli/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "weft/tensor/error.h"

namespace weft::cli {

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

Progress::Progress(const std::string& mode, const std::string& metrics_path)
    : refresh_(mode == "auto" && isatty(fileno(stderr))),
      quiet_(mode == "none" || mode == "silent"),
      silent_(mode == "silent"),
      records_(!metrics_path.empty()),
      metrics_path_(metrics_path) {
  if (!records_) return;
  drop_torn_last_line(metrics_path);
  metrics_.open(metrics_path, std::ios::app);
  WEFT_CHECK(metrics_.good(), "cannot write metrics file '", metrics_path, "'");
}

void Progress::drop_torn_last_line(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return;
  // Only the tail is read: a long run's metrics are many megabytes, and the
  // last newline is usually the last byte.
  std::ifstream in(path, std::ios::binary);
  constexpr uintmax_t kBlock = 4096;
  uintmax_t end = size, keep = 0;
  std::string block;
  while (end > 0) {
    const uintmax_t begin = end > kBlock ? end - kBlock : 0;
    block.resize(end - begin);
    in.seekg(static_cast<std::streamoff>(begin));
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    WEFT_CHECK(in.good(), "cannot read metrics file '", path, "'");
    const size_t newline = block.rfind('\n');
    if (newline != std::string::npos) {
      keep = begin + newline + 1;
      break;
    }
    end = begin;
  }
  if (keep == size) return;
  // A run stopped mid-write (a full disk, a kill) leaves half a record: the
  // next record must not be appended onto it.
  std::filesystem::resize_file(path, keep, ec);
  WEFT_CHECK(!ec, "metrics file '", path, "' ends in a torn line that cannot be removed: ",
             ec.message());
  std::fprintf(stderr, "metrics file '%s': dropped a torn last line of %ju bytes\n", path.c_str(),
               size - keep);
}

void Progress::step(const ProgressFigures& f) {
  if (quiet_) return;
  char epoch[32] = "";
  if (f.epochs >= 0) std::snprintf(epoch, sizeof epoch, "  epoch %.2f", f.epochs);
  std::fprintf(stderr, "%sstep %ld/%ld%s  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  MFU %.1f%%  ETA %s%s",
               refresh_ ? "\r\033[K" : "", static_cast<long>(f.step), static_cast<long>(f.total),
               epoch, f.loss, f.lr, f.grad_norm, f.tokens_per_s, 100.0 * f.mfu,
               format_duration(f.eta_s).c_str(), refresh_ ? "" : "\n");
  std::fflush(stderr);
  dirty_ = refresh_;
}

void Progress::record(const nlohmann::json& event) {
  if (!records_) return;
  metrics_ << event.dump() << "\n";
  metrics_.flush();
  // A full disk must stop the run, not leave metrics that silently end.
  WEFT_CHECK(metrics_.good(), "cannot write metrics file '", metrics_path_, "': ",
             std::strerror(errno), "; the run stops here, its last checkpoint kept");
}

void Progress::say(const std::string& text) {
  if (silent_) return;
  if (dirty_) std::fprintf(stderr, "\n");
  dirty_ = false;
  std::fprintf(stderr, "%s\n", text.c_str());
}

}  // namespace weft::cli
