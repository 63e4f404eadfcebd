// The NCCL communicator: MPI starts the ranks and carries each group's NCCL
// id; NCCL moves the CUDA tensors on one communication stream per group.
// Before each collective that stream waits for the work already queued on
// weft's compute stream (where the tensors were written), so collectives
// overlap the kernels queued after them. Each collective records an event
// behind it; waiting polls that event and NCCL's asynchronous error up to the
// group's timeout, then aborts the NCCL communicator and throws, naming the
// ranks that never issued the collective. Host tensors (step statistics,
// flags) cross through a device copy.

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mpi_check.h"
#include "mpi_group_core.h"
#include "mpi_runtime.h"
#include "nccl_check.h"
#include "polling.h"
#include "weft/backend/gpu.h"
#include "weft/comm/nccl.h"

namespace weft {
namespace {

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return ncclFloat32;
    case DType::F64:
      return ncclFloat64;
    case DType::BF16:
      return ncclBfloat16;
    case DType::I32:
      return ncclInt32;
  }
  throw Error("nccl: unknown dtype");
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return ncclSum;
    case ReduceOp::Average:
      return ncclAvg;
    case ReduceOp::Max:
      return ncclMax;
  }
  throw Error("nccl: unknown reduction");
}

void check_on_cuda(const char* collective, const Tensor& t) {
  WEFT_CHECK(t.device() == Device::CUDA, collective, ": ", t.describe(),
             " is not on cuda; the nccl communicator moves cuda tensors (mpi moves cpu ones)");
}

// Logs instead of throwing: for destructors.
void warn_if_failed(const char* call, bool failed, const char* text) {
  if (failed) std::fprintf(stderr, "weft: %s failed: %s\n", call, text);
}

// One group: its MPI communicator (bootstrap, split, arrival board), its
// NCCL communicator and stream.
class NcclGroup final : public MpiGroupCore {
 public:
  // Collective over the new group's MPI communicator.
  explicit NcclGroup(NewGroup group) : MpiGroupCore(std::move(group)) {
    ncclUniqueId id{};
    if (rank() == 0) WEFT_NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_Request request = MPI_REQUEST_NULL;
    WEFT_MPI_CHECK(MPI_Ibcast(&id, sizeof(id), MPI_BYTE, 0, comm(), &request));
    WEFT_CHECK(mpi_runtime::wait_for(&request, options().timeout_seconds), label(),
               ": rank 0 did not send the NCCL id within ", options().timeout_seconds, " s");
    WEFT_CUDA_CHECK(cudaGetDevice(&device_));
    // Non-blocking: the legacy default stream never serialises against it.
    WEFT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    WEFT_CUDA_CHECK(cudaEventCreateWithFlags(&written_, cudaEventDisableTiming));
    WEFT_CUDA_CHECK(cudaMalloc(&barrier_word_, sizeof(float)));
    WEFT_NCCL_CHECK(ncclCommInitRank(&nccl_, size(), id, rank()));
  }

  ~NcclGroup() {
    if (nccl_ != nullptr) {
      const cudaError_t synced = cudaStreamSynchronize(stream_);
      warn_if_failed("cudaStreamSynchronize", synced != cudaSuccess, cudaGetErrorString(synced));
      const ncclResult_t destroyed = ncclCommDestroy(nccl_);
      warn_if_failed("ncclCommDestroy", destroyed != ncclSuccess, ncclGetErrorString(destroyed));
    }
    if (barrier_word_ != nullptr) cudaFree(barrier_word_);
    if (written_ != nullptr) cudaEventDestroy(written_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  void* barrier_word() const { return barrier_word_; }

  // Queues the collective (`launch` enqueues it given the NCCL communicator
  // and the stream) and records an event behind it. Returns its number; the
  // caller owns the event.
  int64_t issue(const std::function<void(ncclComm_t, cudaStream_t)>& launch, cudaEvent_t* done) {
    throw_if_broken();
    const int64_t seq = post_next();
    WEFT_CUDA_CHECK(cudaSetDevice(device_));
    if (gpu::initialized()) {  // order after the kernels that wrote the tensors
      WEFT_CUDA_CHECK(cudaEventRecord(written_, static_cast<cudaStream_t>(gpu::compute_stream())));
      WEFT_CUDA_CHECK(cudaStreamWaitEvent(stream_, written_, 0));
    }
    launch(nccl_, stream_);
    WEFT_CUDA_CHECK(cudaEventCreateWithFlags(done, cudaEventDisableTiming));
    WEFT_CUDA_CHECK(cudaEventRecord(*done, stream_));
    return seq;
  }

  // Waits for the event of collective `seq`; the stream runs collectives in
  // issue order, so every earlier one is complete too. The compute stream is
  // first made to wait for it on the device, so the order of kernels and
  // collectives is the device's own, not only the host's: nothing queued on
  // the compute stream after wait() reads a result before NCCL wrote it.
  // The host still polls, so that a collective a lost rank never joins
  // times out with a message instead of hanging.
  void wait(cudaEvent_t done, int64_t seq, const char* collective) {
    order_compute_after(done);
    const bool complete = poll_until(options().timeout_seconds, [&] {
      throw_if_broken();
      const cudaError_t state = cudaEventQuery(done);
      if (state == cudaSuccess) return true;
      if (state != cudaErrorNotReady) WEFT_CUDA_CHECK(state);
      ncclResult_t async = ncclSuccess;
      WEFT_NCCL_CHECK(ncclCommGetAsyncError(nccl_, &async));
      if (async != ncclSuccess) {
        fail(detail::concat(name(collective, seq), " failed on rank ", this_rank(), ": ",
                            ncclGetErrorString(async)));
      }
      return false;
    });
    if (!complete) fail(timed_out(collective, seq) + "; the group is aborted and unusable");
  }

  // Work queued on the compute stream from now on runs after `done`.
  void order_compute_after(cudaEvent_t done) {
    if (!gpu::initialized()) return;
    WEFT_CUDA_CHECK(cudaSetDevice(device_));
    WEFT_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(gpu::compute_stream()), done, 0));
  }

  // Every collective issued so far is complete (within the timeout).
  void drain() {
    cudaEvent_t done = nullptr;
    const int64_t seq = issue([](ncclComm_t, cudaStream_t) {}, &done);
    try {
      wait(done, seq, "drain");
    } catch (...) {
      cudaEventDestroy(done);
      throw;
    }
    cudaEventDestroy(done);
  }

 private:
  void throw_if_broken() const {
    WEFT_CHECK(failure_.empty(), label(), " is unusable after an earlier failure: ", failure_);
  }

  [[noreturn]] void fail(const std::string& message) {
    failure_ = message;
    const ncclResult_t aborted = ncclCommAbort(nccl_);
    warn_if_failed("ncclCommAbort", aborted != ncclSuccess, ncclGetErrorString(aborted));
    nccl_ = nullptr;
    throw Error(message);
  }

  int device_ = 0;
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t written_ = nullptr;  // recorded on the compute stream before each collective
  void* barrier_word_ = nullptr;   // one float on the device, summed by barrier()
  std::string failure_;            // non-empty once the group timed out or failed
};

// A collective in flight. It holds references to the tensors NCCL reads and
// writes until it completes: the device arena hands memory to the next
// tensor as soon as the last reference goes, and a kernel writing there
// while NCCL still reads it would corrupt the collective. A pending
// collective dropped before wait() or wait_on_device() waits on its own
// event first, for the same reason.
class NcclPending final : public PendingCollective {
 public:
  NcclPending(std::shared_ptr<NcclGroup> group, const char* collective, int64_t seq,
              cudaEvent_t done, std::vector<Tensor> in_flight)
      : group_(std::move(group)),
        collective_(collective),
        seq_(seq),
        done_(done),
        in_flight_(std::move(in_flight)) {}
  ~NcclPending() override {
    if (done_ == nullptr) return;
    if (!complete_ && !in_flight_.empty()) {
      const cudaError_t synced = cudaEventSynchronize(done_);
      warn_if_failed("cudaEventSynchronize", synced != cudaSuccess, cudaGetErrorString(synced));
    }
    cudaEventDestroy(done_);
  }
  void wait() override {
    if (complete_) return;
    group_->wait(done_, seq_, collective_);
    complete_ = true;
    in_flight_.clear();
  }
  // Kernels queued after this run after the collective, and the arena serves
  // only the compute stream, so the tensors' memory may return to it now.
  void wait_on_device() override {
    if (complete_) return;
    group_->order_compute_after(done_);
    in_flight_.clear();
  }

 private:
  std::shared_ptr<NcclGroup> group_;
  const char* collective_;
  int64_t seq_;
  cudaEvent_t done_;
  std::vector<Tensor> in_flight_;  // released when the collective is complete
  bool complete_ = false;
};

// Host tensors (step statistics, flags) cross through device copies: `run`
// runs the collective on copies of `in` and `out` and waits for it, then `out`
// receives the result. An in-place collective passes the same tensor twice and
// has one copy. Needs the GPU started (gpu::initialize), since device memory
// comes from its arena.
Pending through_device(const char* collective, const Tensor& in, Tensor& out,
                       const std::function<void(const Tensor& in, Tensor& out)>& run) {
  WEFT_CHECK(gpu::initialized(), collective, ": ", in.describe(), " is in host memory and ",
             "the GPU is not started, so it cannot be staged for NCCL");
  const Tensor staged_in = in.to(Device::CUDA);
  Tensor staged_out = &in == &out ? staged_in : out.to(Device::CUDA);
  run(staged_in, staged_out);
  out.copy_from(staged_out);
  return completed_collective();
}

class NcclCommunicator final : public GroupCommunicator<NcclGroup> {
 public:
  using GroupCommunicator::GroupCommunicator;

  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    comm_checks::check_reducible("all_reduce", t, op);
    if (t.device() == Device::CPU) {
      return through_device("all_reduce", t, t,
                            [&](const Tensor&, Tensor& staged) { all_reduce(staged, op); });
    }
    check_on_cuda("all_reduce", t);
    void* data = t.raw();
    return issue("all_reduce",
                 [&](ncclComm_t comm, cudaStream_t stream) {
                   WEFT_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(t.numel()),
                                                 nccl_type(t.dtype()), nccl_op(op), comm, stream));
                 },
                 {t});
  }

  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, size(), rank(), op);
    if (in.device() == Device::CPU && out.device() == Device::CPU) {
      return through_device("reduce_scatter", in, out,
                            [&](const Tensor& staged_in, Tensor& staged_out) {
                              reduce_scatter(staged_in, staged_out, op);
                            });
    }
    check_on_cuda("reduce_scatter", in);
    check_on_cuda("reduce_scatter", out);
    return issue(
        "reduce_scatter",
        [&](ncclComm_t comm, cudaStream_t stream) {
          WEFT_NCCL_CHECK(ncclReduceScatter(in.raw(), out.raw(), static_cast<size_t>(out.numel()),
                                            nccl_type(in.dtype()), nccl_op(op), comm, stream));
        },
        {in, out});
  }

  // Gathers and broadcasts move bytes, so they take any dtype.
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, size(), rank());
    if (in.device() == Device::CPU && out.device() == Device::CPU) {
      return through_device(
          "all_gather", in, out,
          [&](const Tensor& staged_in, Tensor& staged_out) { all_gather(staged_in, staged_out); });
    }
    check_on_cuda("all_gather", in);
    check_on_cuda("all_gather", out);
    return issue(
        "all_gather",
        [&](ncclComm_t comm, cudaStream_t stream) {
          WEFT_NCCL_CHECK(ncclAllGather(in.raw(), out.raw(), in.nbytes(), ncclUint8, comm, stream));
        },
        {in, out});
  }

  void broadcast(Tensor& t, int root) override {
    comm_checks::check_root("broadcast", root, size());
    WEFT_CHECK(t.defined(), "broadcast: the tensor is undefined");
    if (t.device() == Device::CPU) {
      through_device("broadcast", t, t,
                     [&](const Tensor&, Tensor& staged) { broadcast(staged, root); });
      return;
    }
    check_on_cuda("broadcast", t);
    issue("broadcast", [&](ncclComm_t comm, cudaStream_t stream) {
      WEFT_NCCL_CHECK(ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclUint8, root, comm, stream));
    })->wait();
  }

  // NCCL has no barrier: a one-element sum that every rank must join.
  void barrier() override {
    issue("barrier", [&](ncclComm_t comm, cudaStream_t stream) {
      void* word = group().barrier_word();
      WEFT_NCCL_CHECK(ncclAllReduce(word, word, 1, ncclFloat32, ncclSum, comm, stream));
    })->wait();
  }

  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  // `in_flight`: the tensors the collective reads or writes, kept alive
  // until it completes.
  Pending issue(const char* collective, const std::function<void(ncclComm_t, cudaStream_t)>& launch,
                std::vector<Tensor> in_flight = {}) {
    cudaEvent_t done = nullptr;
    const int64_t seq = group().issue(launch, &done);
    return std::make_unique<NcclPending>(shared_group(), collective, seq, done,
                                         std::move(in_flight));
  }
};

std::shared_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  // The meeting is MPI's, outside the NCCL stream and its numbering.
  NcclGroup& group = this->group();
  return std::make_shared<NcclCommunicator>(std::make_shared<NcclGroup>(
      group.split("nccl", color, key, [&group](const int* mine, int* every) {
        // A new NCCL communicator may not start while this one has kernels in
        // flight on the same GPU: finish them first.
        group.drain();
        MPI_Request request = MPI_REQUEST_NULL;
        WEFT_MPI_CHECK(MPI_Iallgather(mine, 3, MPI_INT, every, 3, MPI_INT, group.comm(), &request));
        WEFT_CHECK(mpi_runtime::wait_for(&request, group.options().timeout_seconds), "split on ",
                   group.label(), ": not every rank arrived within ",
                   group.options().timeout_seconds, " s");
      })));
}

// Selects this rank's GPU; every rank learns whether all of them have one
// before any waits on another.
void select_device() {
  const int local = mpi_runtime::local_rank();
  int devices = 0;
  const cudaError_t counted = cudaGetDeviceCount(&devices);
  int ok = counted == cudaSuccess && devices > 0 && cudaSetDevice(local % devices) == cudaSuccess;
  int world_size = 0, world_rank = 0;
  WEFT_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world_size));
  WEFT_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank));
  std::vector<int> oks(world_size);
  WEFT_MPI_CHECK(MPI_Allgather(&ok, 1, MPI_INT, oks.data(), 1, MPI_INT, MPI_COMM_WORLD));
  std::string without;
  for (int r = 0; r < world_size; ++r) {
    if (!oks[r]) without += (without.empty() ? "" : ", ") + std::to_string(r);
  }
  WEFT_CHECK(without.empty(), "make_nccl_world: rank(s) ", without,
             " found no usable CUDA device (this is rank ", world_rank, ": ",
             counted == cudaSuccess ? "cudaSetDevice failed" : cudaGetErrorString(counted), ")");
}

}  // namespace

bool nccl_available() {
  return true;
}

std::shared_ptr<Communicator> make_nccl_world(CommOptions options) {
  mpi_runtime::ensure_initialized();
  select_device();
  return std::make_shared<NcclCommunicator>(
      std::make_shared<NcclGroup>(world_group("nccl", options)));
}

}  // namespace weft
