// The MPI communicator: each collective is MPI's non-blocking form, queued in
// issue order; waiting completes the queue's front up to the one asked for,
// polling each with the group's timeout. On expiry the rank says what holds
// the collective up (from the arrival board, arrival_report.h), or which rank
// that timed out too reports it, and stops the job with MPI_Abort: the other
// ranks are inside an MPI call that would otherwise never return.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <utility>

#include "mpi_check.h"
#include "mpi_group_core.h"
#include "mpi_runtime.h"
#include "weft/comm/mpi.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// One group's MPI communicator and the collectives it has in flight.
class MpiGroup final : public MpiGroupCore {
 public:
  explicit MpiGroup(NewGroup group) : MpiGroupCore(std::move(group)) {}

  ~MpiGroup() {
    if (mpi_runtime::finalized()) return;
    try {
      wait_through(issued());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "weft: %s: %s\n", label().c_str(), e.what());
    }
  }

  // Posts the collective (`start` fills the request) behind those in flight;
  // `finish` runs once it is complete. Returns its sequence number.
  int64_t issue(const char* collective, const std::function<void(MPI_Request*)>& start,
                std::function<void()> finish = nullptr) {
    const int64_t seq = post_next();
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
      if (!wait_for(&op.request, op.seq)) abort_job(op);
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
    const std::string line = detail::concat("weft: ", timed_out(op.collective, op.seq), " on host ",
                                            host, ", pid ", getpid(), "; aborting every rank\n");
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    yield_to_reporter();
    MPI_Abort(MPI_COMM_WORLD, 3);
    std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

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

class MpiCommunicator final : public GroupCommunicator<MpiGroup> {
 public:
  using GroupCommunicator::GroupCommunicator;

  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    comm_checks::check_reducible("all_reduce", t, op);
    check_on_cpu("all_reduce", t);
    const int count = mpi_runtime::int_count("all_reduce", t.numel());
    void* data = t.raw();
    return issue(
        "all_reduce",
        [&](MPI_Request* request) {
          WEFT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, count, mpi_runtime::datatype(t.dtype()),
                                        mpi_runtime::reduction(op, t.dtype()), group().comm(),
                                        request));
        },
        divide_if_average(op, t, size()));
  }

  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, size(), rank(), op);
    check_on_cpu("reduce_scatter", in);
    const int count = mpi_runtime::int_count("reduce_scatter", out.numel());
    mpi_runtime::int_count("reduce_scatter", in.numel());
    if (!comm_checks::reduce_scatter_in_place(in, out, rank())) {
      return issue(
          "reduce_scatter",
          [&](MPI_Request* request) {
            WEFT_MPI_CHECK(MPI_Ireduce_scatter_block(
                in.raw(), out.raw(), count, mpi_runtime::datatype(in.dtype()),
                mpi_runtime::reduction(op, in.dtype()), group().comm(), request));
          },
          divide_if_average(op, out, size()));
    }
    // MPI's in-place form leaves the result in the first chunk; it is moved
    // to this rank's chunk once complete.
    void* whole = const_cast<void*>(in.raw());
    std::function<void()> average = divide_if_average(op, out, size());
    void* mine = out.raw();
    const size_t bytes = out.nbytes();
    return issue(
        "reduce_scatter",
        [&](MPI_Request* request) {
          WEFT_MPI_CHECK(MPI_Ireduce_scatter_block(
              MPI_IN_PLACE, whole, count, mpi_runtime::datatype(in.dtype()),
              mpi_runtime::reduction(op, in.dtype()), group().comm(), request));
        },
        [whole, mine, bytes, average] {
          if (mine != whole) std::memmove(mine, whole, bytes);
          if (average) average();
        });
  }

  // Gathers and broadcasts move bytes, so they take any dtype.
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, size(), rank());
    check_on_cpu("all_gather", in);
    const int bytes = mpi_runtime::int_count("all_gather", static_cast<int64_t>(in.nbytes()));
    mpi_runtime::int_count("all_gather", static_cast<int64_t>(out.nbytes()));
    const void* send =
        comm_checks::all_gather_in_place(in, out, rank()) ? MPI_IN_PLACE : in.raw();
    return issue("all_gather", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Iallgather(send, bytes, MPI_BYTE, out.raw(), bytes, MPI_BYTE,
                                    group().comm(), request));
    });
  }

  void broadcast(Tensor& t, int root) override {
    comm_checks::check_root("broadcast", root, size());
    WEFT_CHECK(t.defined(), "broadcast: the tensor is undefined");
    check_on_cpu("broadcast", t);
    const int bytes = mpi_runtime::int_count("broadcast", static_cast<int64_t>(t.nbytes()));
    issue("broadcast", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Ibcast(t.raw(), bytes, MPI_BYTE, root, group().comm(), request));
    })->wait();
  }

  void barrier() override {
    issue("barrier", [&](MPI_Request* request) {
      WEFT_MPI_CHECK(MPI_Ibarrier(group().comm(), request));
    })->wait();
  }

  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  Pending issue(const char* collective, const std::function<void(MPI_Request*)>& start,
                std::function<void()> finish = nullptr) {
    const int64_t seq = group().issue(collective, start, std::move(finish));
    return std::make_unique<MpiPending>(shared_group(), seq);
  }
};

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  // The meeting is a collective of this group, timed and numbered like the others.
  return std::make_shared<MpiCommunicator>(std::make_shared<MpiGroup>(
      group().split("mpi", color, key, [this](const int* mine, int* every) {
        issue("split", [&](MPI_Request* request) {
          WEFT_MPI_CHECK(
              MPI_Iallgather(mine, 3, MPI_INT, every, 3, MPI_INT, group().comm(), request));
        })->wait();
      })));
}

}  // namespace

std::shared_ptr<Communicator> make_mpi_world(CommOptions options) {
  mpi_runtime::ensure_initialized();
  return std::make_shared<MpiCommunicator>(std::make_shared<MpiGroup>(world_group("mpi", options)));
}

int mpi_local_rank() {
  return mpi_runtime::local_rank();
}

}  // namespace weft
