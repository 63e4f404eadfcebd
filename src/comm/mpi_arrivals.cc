#include "mpi_arrivals.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "mpi_runtime.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using Clock = std::chrono::steady_clock;

// How long a report waits for each rank's window to answer.
constexpr double kPatienceSeconds = 2.0;
// How long a report watches heartbeats to tell a rank that polls from one
// that stopped; a polling rank beats every kBeatSeconds.
constexpr double kObserveSeconds = 0.5;
constexpr double kBeatSeconds = 0.01;

constexpr int kSeqBits = 48;
constexpr int64_t kSeqMask = (int64_t{1} << kSeqBits) - 1;

// The board as one report reads it: every rank's counts of the groups this
// rank knows, its waiting slot and heartbeat, read at once when the timeout
// fires (once a rank aborts the job, a stopped rank may be continued and move
// on). The first question about whether a rank still polls reads the
// heartbeats again kObserveSeconds later, for everyone at once.
class BoardReader final : public BoardView {
 public:
  explicit BoardReader(ArrivalBoard& board) : board_(board), start_(Clock::now()) {
    for (int r = 0; r < board_.world_size(); ++r) everyone_.push_back(r);
    first_ = read_status();
    known_groups_ = std::min(board_.known_groups(), ArrivalBoard::kGroups);
    counts_ = board_.read(everyone_, 0, known_groups_, kPatienceSeconds);
  }

  // What another rank's own timeout had come to when this one read the board:
  // kDeciding, kReporting, kDeferring, or 0 where it had not timed out.
  int64_t timed_out_state(int world_rank) const {
    const auto& status = first_[world_rank];
    return status && (*status)[1] < 0 ? (*status)[1] : 0;
  }

  std::vector<std::optional<int64_t>> issued(int group_id,
                                             const std::vector<int>& world_ranks) override {
    std::vector<std::optional<int64_t>> counts(world_ranks.size());
    if (group_id >= ArrivalBoard::kGroups) return counts;  // unwatched
    if (group_id < known_groups_) {
      for (size_t i = 0; i < world_ranks.size(); ++i) {
        const auto& slots = counts_[world_ranks[i]];
        if (slots) counts[i] = (*slots)[group_id];
      }
      return counts;
    }
    const auto slots = board_.read(world_ranks, group_id, 1, kPatienceSeconds);
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slots[i]) counts[i] = (*slots[i])[0];
    }
    return counts;
  }

  bool posts_waits() const override { return board_.posts_waits(); }

  std::optional<WaitingIn> waiting(int world_rank) override {
    const auto& status = first_[world_rank];
    if (!status || (*status)[0] == 0) return std::nullopt;
    const int64_t packed = (*status)[0];
    return WaitingIn{static_cast<int>(packed >> kSeqBits), packed & kSeqMask};
  }

  bool responding(int world_rank) override {
    if (world_rank == board_.world_rank()) return true;
    if (!second_) {
      while (Clock::now() - start_ < std::chrono::duration<double>(kObserveSeconds)) {
        board_.beat();  // others may be watching this rank too
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      second_ = read_status();
    }
    const auto& before = first_[world_rank];
    const auto& after = (*second_)[world_rank];
    if (!before || !after) return false;
    // A rank that timed out itself was polling until then.
    return *before != *after || (*before)[1] < 0 || (*after)[1] < 0;
  }

  const KnownGroup* group(int group_id, int world_rank) const override {
    return board_.find(group_id, world_rank);
  }

 private:
  // Every rank's waiting slot and heartbeat.
  std::vector<std::optional<std::vector<int64_t>>> read_status() {
    return board_.read(everyone_, ArrivalBoard::kWaitingSlot, 2, kPatienceSeconds);
  }

  ArrivalBoard& board_;
  Clock::time_point start_;
  std::vector<int> everyone_;
  std::vector<std::optional<std::vector<int64_t>>> first_;
  int known_groups_ = 0;  // count slots [0, known_groups_) are in counts_
  std::vector<std::optional<std::vector<int64_t>>> counts_;
  std::optional<std::vector<std::optional<std::vector<int64_t>>>> second_;
};

}  // namespace

ArrivalBoard::ArrivalBoard(MPI_Comm world) {
  MPI_Comm_rank(world, &world_rank_);
  MPI_Comm_size(world, &world_size_);
  int64_t* base = nullptr;
  int windowed = MPI_Win_allocate(kSlots * sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL, world,
                                  &base, &window_) == MPI_SUCCESS;
  if (windowed) {
    MPI_Win_set_errhandler(window_, MPI_ERRORS_RETURN);
    for (int s = 0; s < kSlots; ++s) base[s] = 0;
  }
  // Every rank's zeros are in place before anyone reads them, and the ranks
  // agree on how they read: all through windows, or all by asking.
  int everywhere = 0;
  MPI_Allreduce(&windowed, &everywhere, 1, MPI_INT, MPI_MIN, world);
  if (!everywhere) {
    // A window made here stays unused: freeing it is collective over ranks
    // that have none.
    window_ = MPI_WIN_NULL;
    roll_call_ = std::make_unique<RollCall>(world, kSlots);
    return;
  }
  // One passive epoch over every window for the board's life: posts and
  // reads need no lock of their own (nobody ever locks exclusively).
  if (MPI_Win_lock_all(MPI_MODE_NOCHECK, window_) != MPI_SUCCESS) {
    MPI_Win_free(&window_);
    window_ = MPI_WIN_NULL;
  }
}

ArrivalBoard::~ArrivalBoard() {
  if (window_ == MPI_WIN_NULL || mpi_runtime::finalized()) return;
  // Reads still in flight towards a silent rank would keep the epoch open
  // for ever: then the window is left to the job's end.
  if (!abandoned_.empty()) return;
  MPI_Win_unlock_all(window_);
  MPI_Win_free(&window_);
}

void ArrivalBoard::learn(KnownGroup group) {
  for (const KnownGroup& known : known_) {
    if (known.id == group.id && known.world_ranks == group.world_ranks) return;
  }
  known_.push_back(std::move(group));
}

int ArrivalBoard::known_groups() const {
  int most = 0;
  for (const KnownGroup& known : known_) most = std::max(most, known.id + 1);
  return most;
}

const KnownGroup* ArrivalBoard::find(int group_id, int world_rank) const {
  for (const KnownGroup& known : known_) {
    if (known.id == group_id && std::find(known.world_ranks.begin(), known.world_ranks.end(),
                                          world_rank) != known.world_ranks.end()) {
      return &known;
    }
  }
  return nullptr;
}

void ArrivalBoard::put(int slot, int64_t value) {
  if (roll_call_) {
    roll_call_->slots()[slot] = value;
    return;
  }
  if (window_ == MPI_WIN_NULL) return;
  MPI_Put(&value, 1, MPI_INT64_T, world_rank_, slot, 1, MPI_INT64_T, window_);
  MPI_Win_flush(world_rank_, window_);  // `value` is free again, and visible
}

void ArrivalBoard::post(int group, int64_t issued) {
  if (group < kGroups) put(group, issued);
}

void ArrivalBoard::begin_wait(int group, int64_t seq) {
  posts_waits_ = true;
  const bool fits = group < kGroups && seq > 0 && seq <= kSeqMask;
  put(kWaitingSlot, fits ? (int64_t{group} << kSeqBits) | seq : 0);
  beat();
}

void ArrivalBoard::end_wait() {
  put(kWaitingSlot, 0);
}

void ArrivalBoard::serve() {
  if (roll_call_) roll_call_->serve();
}

void ArrivalBoard::beat() {
  serve();
  if (gave_up_) return;
  const auto now = Clock::now();
  if (now - last_beat_ < std::chrono::duration<double>(kBeatSeconds)) return;
  last_beat_ = now;
  put(kHeartbeatSlot, ++heartbeat_);
}

void ArrivalBoard::give_up(int64_t state) {
  gave_up_ = true;
  put(kHeartbeatSlot, state);
}

std::vector<std::optional<std::vector<int64_t>>> ArrivalBoard::read(
    const std::vector<int>& world_ranks, int first, int count, double patience_seconds) {
  const size_t n = world_ranks.size();
  std::vector<std::optional<std::vector<int64_t>>> slots(n);
  if (roll_call_) return ask(world_ranks, first, count, patience_seconds);
  if (window_ == MPI_WIN_NULL) return slots;
  struct Pending {
    size_t index;
    MPI_Request request = MPI_REQUEST_NULL;
    std::unique_ptr<int64_t[]> buffer;
  };
  std::vector<Pending> pending;
  for (size_t i = 0; i < n; ++i) {
    if (silent_.count(world_ranks[i]) != 0) continue;
    Pending p{i, MPI_REQUEST_NULL, std::make_unique<int64_t[]>(count)};
    if (MPI_Rget(p.buffer.get(), count, MPI_INT64_T, world_ranks[i], first, count, MPI_INT64_T,
                 window_, &p.request) == MPI_SUCCESS) {
      pending.push_back(std::move(p));
    }
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(patience_seconds);
  while (!pending.empty()) {
    for (size_t k = 0; k < pending.size();) {
      int done = 0;
      if (MPI_Test(&pending[k].request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        pending.erase(pending.begin() + k);  // unknown, and nothing left in flight
        continue;
      }
      if (done) {
        slots[pending[k].index].emplace(pending[k].buffer.get(), pending[k].buffer.get() + count);
        pending.erase(pending.begin() + k);
        continue;
      }
      ++k;
    }
    if (pending.empty() || Clock::now() > deadline) break;
    beat();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  for (Pending& p : pending) {
    silent_.insert(world_ranks[p.index]);
    abandoned_.push_back(Abandoned{p.request, std::move(p.buffer)});
  }
  return slots;
}

std::vector<std::optional<std::vector<int64_t>>> ArrivalBoard::ask(
    const std::vector<int>& world_ranks, int first, int count, double patience_seconds) {
  std::vector<std::optional<std::vector<int64_t>>> slots(world_ranks.size());
  std::vector<int> asked;
  std::vector<size_t> where;
  for (size_t i = 0; i < world_ranks.size(); ++i) {
    if (silent_.count(world_ranks[i]) != 0) continue;
    asked.push_back(world_ranks[i]);
    where.push_back(i);
  }
  auto answers = roll_call_->read(asked, first, count, patience_seconds, [this] { beat(); });
  for (size_t k = 0; k < asked.size(); ++k) {
    if (!answers[k]) silent_.insert(asked[k]);
    slots[where[k]] = std::move(answers[k]);
  }
  return slots;
}

SplitOutcome split_outcome(const std::vector<int>& triples, int color) {
  std::vector<std::pair<int, int>> by_key;  // (key, old rank) of this color
  SplitOutcome outcome;
  for (size_t r = 0; 3 * r < triples.size(); ++r) {
    if (triples[3 * r] != color) continue;
    by_key.push_back({triples[3 * r + 1], static_cast<int>(r)});
    outcome.group_id = std::max(outcome.group_id, triples[3 * r + 2]);
  }
  std::sort(by_key.begin(), by_key.end());
  for (const auto& member : by_key) outcome.members.push_back(member.second);
  return outcome;
}

std::string split_label(const char* kind, const std::vector<int>& members,
                        const std::string& parent) {
  std::string label = detail::concat(kind, " group of ", members.size(), " (ranks");
  for (int r : members) label += detail::concat(" ", r);
  return label + detail::concat(" of ", parent, ")");
}

GroupArrivals::GroupArrivals(std::shared_ptr<ArrivalBoard> board, int group_id, MPI_Comm comm,
                             std::string label)
    : board_(std::move(board)) {
  group_.id = group_id;
  group_.label = std::move(label);
  int size = 0;
  MPI_Comm_size(comm, &size);
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> ranks(size);
  for (int r = 0; r < size; ++r) ranks[r] = r;
  group_.world_ranks.resize(size);
  MPI_Group_translate_ranks(group, size, ranks.data(), world, group_.world_ranks.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  board_->learn(group_);
}

void GroupArrivals::learn_split(const char* kind, const std::vector<int>& triples) {
  std::set<int> colors;
  for (size_t r = 0; 3 * r < triples.size(); ++r) colors.insert(triples[3 * r]);
  for (int color : colors) {
    const SplitOutcome outcome = split_outcome(triples, color);
    KnownGroup known{outcome.group_id, {}, split_label(kind, outcome.members, group_.label)};
    for (int member : outcome.members) known.world_ranks.push_back(group_.world_ranks[member]);
    board_->learn(std::move(known));
  }
}

std::string GroupArrivals::rank_name(int rank) const {
  const int world = group_.world_ranks[rank];
  return world == rank ? std::to_string(rank) : detail::concat(rank, " (world ", world, ")");
}

std::string GroupArrivals::holdup(int64_t seq, bool* deferred) {
  BoardReader reader(*board_);
  const int me = board_->world_rank();
  std::optional<int> reporting, deciding_below;
  std::vector<int> timed_out;  // other ranks that had timed out already
  for (int r = 0; r < board_->world_size(); ++r) {
    const int64_t state = r == me ? 0 : reader.timed_out_state(r);
    if (state == 0) continue;
    timed_out.push_back(r);
    if (state == ArrivalBoard::kReporting && !reporting) reporting = r;
    if (state == ArrivalBoard::kDeciding && r < me && !deciding_below) deciding_below = r;
  }
  const std::optional<int> reporter = reporting ? reporting : deciding_below;
  *deferred = reporter && board_->posts_waits();
  if (*deferred) {
    defer();
    return detail::concat("world rank ", *reporter,
                          " timed out as well and reports what holds the job up");
  }
  board_->give_up(ArrivalBoard::kReporting);
  std::string report =
      holdup_report(reader, group_, seq, [this](int rank) { return rank_name(rank); });
  if (timed_out.empty()) return report;
  report += " (read after world rank(s) ";
  for (size_t i = 0; i < timed_out.size(); ++i) {
    report += detail::concat(i == 0 ? "" : ", ", timed_out[i]);
  }
  return report + " timed out as well)";
}

}  // namespace weft
