#include "mpi_arrivals.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "mpi_runtime.h"
#include "weft/tensor/error.h"

namespace weft {

ArrivalBoard::ArrivalBoard(MPI_Comm world) {
  MPI_Comm_rank(world, &world_rank_);
  int64_t* base = nullptr;
  if (MPI_Win_allocate(kGroups * sizeof(int64_t), sizeof(int64_t), MPI_INFO_NULL, world, &base,
                       &window_) != MPI_SUCCESS) {
    window_ = MPI_WIN_NULL;
    return;
  }
  MPI_Win_set_errhandler(window_, MPI_ERRORS_RETURN);
  for (int g = 0; g < kGroups; ++g) base[g] = 0;
  // Every rank's zeros are in place before anyone reads them.
  MPI_Barrier(world);
}

ArrivalBoard::~ArrivalBoard() {
  if (window_ != MPI_WIN_NULL && !mpi_runtime::finalized()) MPI_Win_free(&window_);
}

void ArrivalBoard::post(int group, int64_t issued) {
  if (window_ == MPI_WIN_NULL || group >= kGroups) return;
  // An accumulate, so that remote reads (MPI_Get_accumulate) see either the
  // old or the new count, never a torn one.
  MPI_Win_lock(MPI_LOCK_SHARED, world_rank_, 0, window_);
  MPI_Accumulate(&issued, 1, MPI_INT64_T, world_rank_, group, 1, MPI_INT64_T, MPI_REPLACE, window_);
  MPI_Win_unlock(world_rank_, window_);
}

std::optional<std::vector<int64_t>> ArrivalBoard::read(int group,
                                                       const std::vector<int>& world_ranks,
                                                       double patience_seconds) {
  if (window_ == MPI_WIN_NULL || group >= kGroups) return std::nullopt;
  const int n = static_cast<int>(world_ranks.size());
  std::vector<int64_t> counts(n, -1);
  std::vector<MPI_Request> requests(n, MPI_REQUEST_NULL);
  if (MPI_Win_lock_all(0, window_) != MPI_SUCCESS) return std::nullopt;
  for (int r = 0; r < n; ++r) {
    if (MPI_Rget_accumulate(nullptr, 0, MPI_INT64_T, &counts[r], 1, MPI_INT64_T, world_ranks[r],
                            group, 1, MPI_INT64_T, MPI_NO_OP, window_,
                            &requests[r]) != MPI_SUCCESS) {
      return std::nullopt;
    }
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(patience_seconds);
  for (;;) {
    int done = 0;
    if (MPI_Testall(n, requests.data(), &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) {
      return std::nullopt;
    }
    if (done) break;
    // The requests stay in flight and the window locked: the group is done for.
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  MPI_Win_unlock_all(window_);
  return counts;
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

GroupArrivals::GroupArrivals(std::shared_ptr<ArrivalBoard> board, int group_id, MPI_Comm comm)
    : board_(std::move(board)), id_(group_id) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> ranks(size);
  for (int r = 0; r < size; ++r) ranks[r] = r;
  world_ranks_.resize(size);
  MPI_Group_translate_ranks(group, size, ranks.data(), world, world_ranks_.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
}

std::string GroupArrivals::rank_name(int rank) const {
  const int world = world_ranks_[rank];
  return world == rank ? std::to_string(rank) : detail::concat(rank, " (world ", world, ")");
}

std::string GroupArrivals::who_did_not_arrive(int64_t seq) {
  const auto counts = board_->read(id_, world_ranks_, /*patience_seconds=*/2.0);
  if (!counts) return "which ranks did not arrive is unknown (they did not answer)";
  std::string missing;
  for (size_t r = 0; r < counts->size(); ++r) {
    if ((*counts)[r] < seq) {
      if (!missing.empty()) missing += ", ";
      missing += rank_name(static_cast<int>(r));
    }
  }
  if (missing.empty()) {
    return "every rank issued it, yet it did not complete (do their tensors differ in size?)";
  }
  return "rank(s) " + missing + " did not arrive";
}

}  // namespace weft
