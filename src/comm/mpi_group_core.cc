#include "mpi_group_core.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "mpi_check.h"
#include "mpi_runtime.h"
#include "polling.h"
#include "weft/tensor/error.h"

namespace weft {

NewGroup world_group(const char* kind, CommOptions options) {
  MPI_Comm world = mpi_runtime::duplicate(MPI_COMM_WORLD);
  int size = 0;
  WEFT_MPI_CHECK(MPI_Comm_size(world, &size));
  auto board = std::make_shared<ArrivalBoard>(world);
  std::string label = detail::concat(kind, " world (", size, " ranks)");
  return NewGroup{world, label, options,
                  GroupArrivals(std::move(board), /*group_id=*/0, world, label)};
}

MpiGroupCore::MpiGroupCore(NewGroup group)
    : comm_(group.comm),
      label_(std::move(group.label)),
      options_(group.options),
      arrivals_(std::move(group.arrivals)) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiGroupCore::~MpiGroupCore() {
  if (!mpi_runtime::finalized()) MPI_Comm_free(&comm_);
}

int64_t MpiGroupCore::post_next() {
  const int64_t seq = ++issued_;
  arrivals_.post(seq);
  return seq;
}

bool MpiGroupCore::wait_for(MPI_Request* request, int64_t seq) {
  using Clock = std::chrono::steady_clock;
  arrivals_.begin_wait(seq);
  longest_pause_ = 0;
  auto last_poll = Clock::now();
  // Each MPI_Test also moves the collective on.
  const bool done = poll_until(options_.timeout_seconds, [&] {
    const auto now = Clock::now();
    longest_pause_ =
        std::max(longest_pause_, std::chrono::duration<double>(now - last_poll).count());
    last_poll = now;
    arrivals_.beat();
    int complete = 0;
    WEFT_MPI_CHECK(MPI_Test(request, &complete, MPI_STATUS_IGNORE));
    return complete != 0;
  });
  if (done) arrivals_.end_wait();
  return done;
}

std::string MpiGroupCore::name(const char* collective, int64_t seq) const {
  return detail::concat(collective, " #", seq, " on ", label_);
}

std::string MpiGroupCore::this_rank() const {
  return arrivals_.rank_name(rank_);
}

std::string MpiGroupCore::timed_out(const char* collective, int64_t seq) {
  arrivals_.give_up();
  // Polls are a millisecond apart: a long gap means this rank was stopped
  // (and continued, by the abort of a rank that timed out waiting for it), so
  // it leaves the report to the others.
  std::string what;
  if (longest_pause_ > std::min(1.0, options_.timeout_seconds / 2)) {
    arrivals_.defer();
    deferred_report_ = true;
    what = detail::concat("this rank itself did not run for ", std::round(longest_pause_ * 10) / 10,
                          " s of the wait (was it stopped?)");
  } else {
    what = arrivals_.holdup(seq, &deferred_report_);
  }
  return detail::concat(name(collective, seq), " timed out after ", options_.timeout_seconds,
                        " s: ", what, "; seen by rank ", this_rank());
}

void MpiGroupCore::yield_to_reporter() const {
  // The reporter reads for a few seconds at most (kPatienceSeconds per silent
  // rank, kObserveSeconds); its abort normally ends this process first.
  if (!deferred_report_) return;
  // Meanwhile it answers, where the reporter asks (mpi_roll_call.h).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    arrivals_.serve();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

NewGroup MpiGroupCore::split(const char* kind, int color, int key,
                             const std::function<void(const int* mine, int* every)>& meet) {
  WEFT_CHECK(color >= 0, "split: color must be 0 or more, got ", color);
  ArrivalBoard& board = *arrivals_.board();
  const int mine[3] = {color, key, board.next_group_id()};
  std::vector<int> triples(3 * static_cast<size_t>(size_));
  meet(mine, triples.data());
  const SplitOutcome outcome = split_outcome(triples, color);
  board.claim_group_id(outcome.group_id);
  arrivals_.learn_split(kind, triples);

  MPI_Comm sub = MPI_COMM_NULL;
  WEFT_MPI_CHECK(MPI_Comm_split(comm_, color, key, &sub));
  WEFT_MPI_CHECK(MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN));
  std::string label = split_label(kind, outcome.members, label_);
  return NewGroup{sub, label, options_,
                  GroupArrivals(arrivals_.board(), outcome.group_id, sub, label)};
}

}  // namespace weft
