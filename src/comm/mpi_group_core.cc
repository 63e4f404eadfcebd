#include "mpi_group_core.h"

#include <memory>
#include <utility>
#include <vector>

#include "mpi_check.h"
#include "mpi_runtime.h"
#include "weft/tensor/error.h"

namespace weft {

NewGroup world_group(const char* kind, CommOptions options) {
  MPI_Comm world = mpi_runtime::duplicate(MPI_COMM_WORLD);
  int size = 0;
  WEFT_MPI_CHECK(MPI_Comm_size(world, &size));
  auto board = std::make_shared<ArrivalBoard>(world);
  return NewGroup{world, detail::concat(kind, " world (", size, " ranks)"), options,
                  GroupArrivals(std::move(board), /*group_id=*/0, world)};
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

std::string MpiGroupCore::name(const char* collective, int64_t seq) const {
  return detail::concat(collective, " #", seq, " on ", label_);
}

std::string MpiGroupCore::this_rank() const {
  return arrivals_.rank_name(rank_);
}

std::string MpiGroupCore::timed_out(const char* collective, int64_t seq) {
  return detail::concat(name(collective, seq), " timed out after ", options_.timeout_seconds,
                        " s: ", arrivals_.who_did_not_arrive(seq), "; seen by rank ", this_rank());
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

  MPI_Comm sub = MPI_COMM_NULL;
  WEFT_MPI_CHECK(MPI_Comm_split(comm_, color, key, &sub));
  WEFT_MPI_CHECK(MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN));
  return NewGroup{sub, split_label(kind, outcome.members, label_), options_,
                  GroupArrivals(arrivals_.board(), outcome.group_id, sub)};
}

}  // namespace weft
