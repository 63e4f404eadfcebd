// The MPI communicator: each collective is MPI's non-blocking form, queued in
// issue order; waiting completes the queue's front up to the one asked for,
// polling each with the group's timeout. On expiry the rank names the
// missing ranks (from the arrival board) and stops the job with MPI_Abort:
// the other ranks are inside an MPI call that would otherwise never return.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mpi_arrivals.h"
#include "mpi_check.h"
#include "mpi_runtime.h"
#include "weft/comm/mpi.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// One group's MPI communicator and the collectives it has in flight.
class MpiGroup {
 public:
  // Takes ownership of `comm`; `arrivals` watches it.
  MpiGroup(MPI_Comm comm, std::string label, CommOptions options, GroupArrivals arrivals)
      : comm_(comm), label_(std::move(label)), options_(options), arrivals_(std::move(arrivals)) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  ~MpiGroup() {
    if (mpi_runtime::finalized()) return;
    try {
      wait_through(issued_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "weft: %s: %s\n", label_.c_str(), e.what());
    }
    MPI_Comm_free(&comm_);
  }

  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& label() const { return label_; }
  const CommOptions& options() const { return options_; }
  MPI_Comm comm() const { return comm_; }
  ArrivalBoard& board() const { return *arrivals_.board(); }
  const std::shared_ptr<ArrivalBoard>& shared_board() const { return arrivals_.board(); }

  // Posts the collective (`start` fills the request) behind those in flight;
  // `finish` runs once it is complete. Returns its sequence number.
  int64_t issue(const char* collective, const std::function<void(MPI_Request*)>& start,
                std::function<void()> finish = nullptr) {
    const int64_t seq = ++issued_;
    arrivals_.post(seq);
    InFlight op{seq, collective, MPI_REQUEST_NULL, std::move(finish)};
    start(&op.request);
    in_flight_.push_back(std::move(op));
    complete_finished();
    return seq;
  }

  // Completes, in issue order, every collective up to `seq`.
  void wait_through(int64_t seq) {
    while (!in_flight_.empty() && in_flight_.front().seq <= seq) {
      InFlight& op = in_flight_.front();
      if (!mpi_runtime::wait_for(&op.request, options_.timeout_seconds)) abort_job(op);
      finish_front();
    }
  }

 private:
  struct InFlight {
    int64_t seq;
    const char* collective;
    MPI_Request request;
    std::function<void()> finish;
  };

  // Moves the queue on without waiting: MPI progresses collectives only
  // inside MPI calls, so each new one tests those before it.
  void complete_finished() {
    while (!in_flight_.empty()) {
      int done = 0;
      WEFT_MPI_CHECK(MPI_Test(&in_flight_.front().request, &done, MPI_STATUS_IGNORE));
      if (!done) return;
      finish_front();
    }
  }

  void finish_front() {
    InFlight op = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (op.finish) op.finish();
  }

  [[noreturn]] void abort_job(const InFlight& op) {
    char host[256] = "?";
    gethostname(host, sizeof(host) - 1);
    const std::string line =
        detail::concat("weft: ", op.collective, " #", op.seq, " on ", label_, " timed out after ",
                       options_.timeout_seconds, " s: ", arrivals_.who_did_not_arrive(op.seq),
                       "; seen by rank ", arrivals_.rank_name(rank_), " on host ", host, ", pid ",
                       getpid(), "; aborting every rank\n");
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 3);
    std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

  MPI_Comm comm_;
  std::string label_;
  CommOptions options_;
  GroupArrivals arrivals_;
  int rank_ = 0;
  int size_ = 0;
  int64_t issued_ = 0;
  std::deque<InFlight> in_flight_;
};

class MpiPending final : public PendingCollective {
 public:
  MpiPending(std::shared_ptr<MpiGroup> group, int64_t seq) : group_(std::move(group)), seq_(seq) {}
  void wait() override { group_->wait_through(seq_); }

 private:
  std::shared_ptr<MpiGroup> group_;
  int64_t seq_;
};

void check_on_cpu(const char* collective, const Tensor& t) {
  WEFT_CHECK(t.device() == Device::CPU, collective, ": ", t.describe(),
             " is not on the cpu; the mpi communicator moves cpu tensors (nccl moves cuda ones)");
}

// Average is a sum, divided here once complete.
std::function<void()> divide_if_average(ReduceOp op, Tensor& t, int group_size) {
  if (op != ReduceOp::Average) return nullptr;
  const int64_t n = t.numel();
  void* data = t.raw();
  if (t.dtype() == DType::F64) {
    return [data, n, group_size] {
      double* x = static_cast<double*>(data);
      for (int64_t i = 0; i < n; ++i) x[i] /= group_size;
    };
  }
  return [data, n, group_size] {
    float* x = static_cast<float*>(data);
    for (int64_t i = 0; i < n; ++i) x[i] /= static_cast<float>(group_size);
  };
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(std::shared_ptr<MpiGroup> group) : group_(std::move(group)) {}

  int rank() const override { return group_->rank(); }
  int size() const override { return group_->size(); }
  std::string describe() const override { return group_->label(); }

  void all_reduce(Tensor& t, ReduceOp op) override { all_reduce_async(t, op)->wait(); }
  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    comm_checks::check_reducible("all_reduce", t, op);
    check_on_cpu("all_reduce", t);
    const int count = mpi_runtime::int_count("all_reduce", t.numel());
    void* data = t.raw();
    return issue(
        "all_reduce",
        [&](MPI_Request* request) {
          WEFT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, count, mpi_runtime::datatype(t.dtype()),
                                        mpi_runtime::reduction(op), group_->comm(), request));
        },
        divide_if_average(op, t, size()));
  }

  void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) override {
    reduce_scatter_async(in, out, op)->wait();
  }
  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, size(), op);
    check_on_cpu("reduce_scatter", in);
    const int count = mpi_runtime::int_count("reduce_scatter", out.numel());
    mpi_runtime::int_count("reduce_scatter", in.numel());
    return issue(
        "reduce_scatter",
        [&](MPI_Request* request) {
          WEFT_MPI_CHECK(MPI_Ireduce_scatter_block(
              in.raw(), out.raw(), count, mpi_runtime::datatype(in.dtype()),
              mpi_runtime::reduction(op), group_->comm(), request));
        },
        divide_if_average(op, out, size()));
  }

  // Gathers and broadcasts move bytes, so they take any dtype.
  void all_gather(const Tensor& in, Tensor& out) override { all_gather_async(in, out)->wait(); }
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, size());
    check_on_cpu("all_gather", in);
    const int bytes = mpi_runtime::int_count("all_gather", static_cast<int64_t>(in.nbytes()));
    mpi_runtime::int_count("all_gather", static_cast<int64_t>(out.nbytes()));
    return issue("all_gather", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Iallgather(in.raw(), bytes, MPI_BYTE, out.raw(), bytes, MPI_BYTE,
                                    group_->comm(), request));
    });
  }

  void broadcast(Tensor& t, int root) override {
    comm_checks::check_root("broadcast", root, size());
    WEFT_CHECK(t.defined(), "broadcast: the tensor is undefined");
    check_on_cpu("broadcast", t);
    const int bytes = mpi_runtime::int_count("broadcast", static_cast<int64_t>(t.nbytes()));
    issue("broadcast", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Ibcast(t.raw(), bytes, MPI_BYTE, root, group_->comm(), request));
    })->wait();
  }

  void barrier() override {
    issue("barrier", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Ibarrier(group_->comm(), request));
    })->wait();
  }

  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  Pending issue(const char* collective, const std::function<void(MPI_Request*)>& start,
                std::function<void()> finish = nullptr) {
    const int64_t seq = group_->issue(collective, start, std::move(finish));
    return std::make_unique<MpiPending>(group_, seq);
  }

  std::shared_ptr<MpiGroup> group_;
};

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  WEFT_CHECK(color >= 0, "split: color must be 0 or more, got ", color);
  // Meet in a timed all-gather first, so that a rank which never comes is
  // named instead of leaving the others in MPI_Comm_split for ever; it also
  // tells every rank who its new group's members are.
  const int mine[3] = {color, key, group_->board().next_group_id()};
  std::vector<int> triples(3 * static_cast<size_t>(size()));
  issue("split", [&](MPI_Request* request) {
    WEFT_MPI_CHECK(
        MPI_Iallgather(mine, 3, MPI_INT, triples.data(), 3, MPI_INT, group_->comm(), request));
  })->wait();
  const SplitOutcome outcome = split_outcome(triples, color);
  group_->board().claim_group_id(outcome.group_id);

  MPI_Comm sub = MPI_COMM_NULL;
  WEFT_MPI_CHECK(MPI_Comm_split(group_->comm(), color, key, &sub));
  WEFT_MPI_CHECK(MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN));
  return std::make_shared<MpiCommunicator>(std::make_shared<MpiGroup>(
      sub, split_label("mpi", outcome.members, group_->label()), group_->options(),
      GroupArrivals(group_->shared_board(), outcome.group_id, sub)));
}

}  // namespace

std::shared_ptr<Communicator> make_mpi_world(CommOptions options) {
  mpi_runtime::ensure_initialized();
  MPI_Comm world = mpi_runtime::duplicate(MPI_COMM_WORLD);
  int size = 0;
  WEFT_MPI_CHECK(MPI_Comm_size(world, &size));
  auto board = std::make_shared<ArrivalBoard>(world);
  return std::make_shared<MpiCommunicator>(
      std::make_shared<MpiGroup>(world, detail::concat("mpi world (", size, " ranks)"), options,
                                 GroupArrivals(board, /*group_id=*/0, world)));
}

int mpi_local_rank() {
  return mpi_runtime::local_rank();
}

}  // namespace weft
