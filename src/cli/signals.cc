#include "cli/signals.h"

#include <csignal>

namespace weft::cli {
namespace {

volatile std::sig_atomic_t stop_signal = 0;

void on_signal(int sig) {
  stop_signal = sig;
  std::signal(sig, SIG_DFL);  // the next one terminates
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool stop_requested() { return stop_signal != 0; }

}  // namespace weft::cli
