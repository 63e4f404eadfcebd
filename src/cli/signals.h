#pragma once
// SIGINT and SIGTERM ask a run to stop: the current step finishes, a
// checkpoint is written, and the process exits 0. A second signal is left to
// the default handler, so a stuck run can still be killed.

namespace weft::cli {

void install_stop_handlers();
bool stop_requested();

}  // namespace weft::cli
