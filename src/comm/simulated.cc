#include "weft/tensor/bf16.h"
#include "weft/comm/simulated.h"

#include <omp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "weft/tensor/error.h"

namespace weft {
namespace {

using Clock = std::chrono::steady_clock;

// Shared by every group split from one world: a failure anywhere wakes every
// rank waiting anywhere.
struct Universe {
  std::mutex mutex;
  std::string abort_reason;  // non-empty once aborted
  std::vector<std::function<void()>> wake;  // notify each group's waiters

  std::string reason() {
    std::lock_guard<std::mutex> lock(mutex);
    return abort_reason;
  }
  void abort(const std::string& reason) {
    std::vector<std::function<void()>> to_wake;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!abort_reason.empty()) return;
      abort_reason = reason;
      to_wake = wake;
    }
    for (auto& w : to_wake) w();
  }
};

// The rendezvous of one group's ranks. A collective posts each rank's
// pointers, then meets the others at numbered rendezvous points.
struct GroupState {
  GroupState(int n, std::string label, CommOptions options, std::shared_ptr<Universe> universe)
      : size(n),
        label(std::move(label)),
        options(options),
        universe(std::move(universe)),
        in(n),
        out(n),
        scratch(n),
        arrivals(n, 0),
        split_color(n),
        split_key(n),
        split_result(n) {}

  const int size;
  const std::string label;
  const CommOptions options;
  std::shared_ptr<Universe> universe;

  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  int64_t generation = 0;
  std::string failure;  // non-empty once the group timed out

  // Posted by each rank for the collective in progress.
  std::vector<const void*> in;
  std::vector<void*> out;
  std::vector<std::vector<char>> scratch;  // each rank's reduced slice
  std::vector<int64_t> arrivals;           // rendezvous reached, per rank
  std::vector<int> split_color, split_key;
  std::vector<std::shared_ptr<GroupState>> split_result;

  // Waits until every rank has reached this point. `what` names the
  // collective for the timeout message.
  void rendezvous(int rank, const std::string& what) {
    std::unique_lock<std::mutex> lock(mutex);
    throw_if_failed();
    ++arrivals[rank];
    const int64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    const bool forever = options.timeout_seconds <= 0.0;
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(forever ? 0.0 : options.timeout_seconds));
    while (generation == gen) {
      throw_if_failed();
      if (forever) {
        cv.wait(lock);
      } else if (cv.wait_until(lock, deadline) == std::cv_status::timeout && generation == gen) {
        throw_if_failed();
        failure = timeout_message(rank, what);
        cv.notify_all();
        lock.unlock();
        universe->abort(failure);
        throw Error(failure);
      }
    }
  }

  std::string timeout_message(int rank, const std::string& what) const {
    std::string missing;
    for (int r = 0; r < size; ++r) {
      if (arrivals[r] < arrivals[rank]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    return detail::concat(what, " on ", label, ": rank(s) ", missing, " did not arrive within ",
                          options.timeout_seconds, " s");
  }

  void throw_if_failed() const {
    if (!failure.empty()) throw Error(failure);
    const std::string reason = universe->reason();
    if (!reason.empty()) throw Error("collective on " + label + " aborted: " + reason);
  }
};

// Elements of type S are summed in Arith<S>::type: bf16 sums in f32 and
// rounds once per element, as NCCL's bf16 reductions compute in f32.
template <typename S>
void reduce_slice(const std::vector<const void*>& inputs, int64_t begin, int64_t end, ReduceOp op,
                  S* result) {
  using Codec = Arith<S>;
  using A = typename Codec::type;
  const int n = static_cast<int>(inputs.size());
  // Reduced a block at a time into `acc`, then stored: `result` may be one
  // input's own slice (an in-place reduce-scatter), read until the store.
  constexpr int64_t kBlock = 1024;
  A acc[kBlock];
  for (int64_t b = begin; b < end; b += kBlock) {
    const int64_t m = std::min(kBlock, end - b);
    const S* first = static_cast<const S*>(inputs[0]) + b;
    for (int64_t i = 0; i < m; ++i) acc[i] = Codec::load(first[i]);
    for (int k = 1; k < n; ++k) {
      const S* x = static_cast<const S*>(inputs[k]) + b;
      if (op == ReduceOp::Max) {
        for (int64_t i = 0; i < m; ++i) acc[i] = std::max(acc[i], Codec::load(x[i]));
      } else {
        for (int64_t i = 0; i < m; ++i) acc[i] += Codec::load(x[i]);
      }
    }
    if (op == ReduceOp::Average) {
      for (int64_t i = 0; i < m; ++i) acc[i] /= static_cast<A>(n);
    }
    for (int64_t i = 0; i < m; ++i) result[b - begin + i] = Codec::store(acc[i]);
  }
}

void reduce_slice(DType dtype, const std::vector<const void*>& inputs, int64_t begin, int64_t end,
                  ReduceOp op, void* result) {
  switch (dtype) {
    case DType::F32:
      return reduce_slice<float>(inputs, begin, end, op, static_cast<float*>(result));
    case DType::F64:
      return reduce_slice<double>(inputs, begin, end, op, static_cast<double*>(result));
    case DType::I32:
      return reduce_slice<int32_t>(inputs, begin, end, op, static_cast<int32_t*>(result));
    case DType::BF16:
      return reduce_slice<uint16_t>(inputs, begin, end, op, static_cast<uint16_t*>(result));
    default: WEFT_CHECK(false, "reduce: unsupported dtype ", dtype_name(dtype));
  }
}

// Rank r's share [begin, end) of n elements split over `size` ranks.
std::pair<int64_t, int64_t> slice_of(int rank, int size, int64_t n) {
  const int64_t per = (n + size - 1) / size;
  const int64_t begin = std::min(n, per * rank);
  return {begin, std::min(n, begin + per)};
}

// Runs queued collectives in order on a background thread.
class Worker {
 public:
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_future<void> submit(std::function<void()> task) {
    auto job = std::make_shared<std::packaged_task<void()>>(std::move(task));
    std::shared_future<void> done = job->get_future().share();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
      queue_.push_back([job] { (*job)(); });
      ++in_flight_;
    }
    cv_.notify_all();
    return done;
  }

  bool idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_flight_ == 0;
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();  // a packaged_task: exceptions land in its future
      std::lock_guard<std::mutex> lock(mutex_);
      --in_flight_;
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int in_flight_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

class FuturePending final : public PendingCollective {
 public:
  explicit FuturePending(std::shared_future<void> done) : done_(std::move(done)) {}
  void wait() override { done_.get(); }

 private:
  std::shared_future<void> done_;
};

class SimulatedCommunicator final : public Communicator {
 public:
  SimulatedCommunicator(std::shared_ptr<GroupState> group, int rank)
      : group_(std::move(group)), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return group_->size; }
  std::string describe() const override { return group_->label; }

  void all_reduce(Tensor& t, ReduceOp op) override {
    comm_checks::check_reducible("all_reduce", t, op);
    run_ordered([&] { all_reduce_now(t, op); });
  }
  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    comm_checks::check_reducible("all_reduce", t, op);
    return submit([this, t, op]() mutable { all_reduce_now(t, op); });
  }
  void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, size(), rank(), op);
    run_ordered([&] { reduce_scatter_now(in, out, op); });
  }
  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, size(), rank(), op);
    return submit([this, in, out, op]() mutable { reduce_scatter_now(in, out, op); });
  }
  void all_gather(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, size(), rank());
    run_ordered([&] { all_gather_now(in, out); });
  }
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, size(), rank());
    return submit([this, in, out]() mutable { all_gather_now(in, out); });
  }
  void broadcast(Tensor& t, int root) override {
    comm_checks::check_root("broadcast", root, size());
    run_ordered([&] { broadcast_now(t, root); });
  }
  void barrier() override {
    run_ordered([&] { group_->rendezvous(rank_, name("barrier")); });
  }
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  std::string name(const char* collective) {
    return detail::concat(collective, " #", ++sequence_);
  }

  // A blocking collective runs after the asynchronous ones already issued.
  template <typename F> void run_ordered(F&& f) {
    if (worker_.idle()) {
      f();
    } else {
      submit(std::function<void()>(f))->wait();
    }
  }
  Pending submit(std::function<void()> task) {
    return std::make_unique<FuturePending>(worker_.submit(std::move(task)));
  }

  void all_reduce_now(Tensor& t, ReduceOp op) {
    GroupState& g = *group_;
    const std::string what = name("all_reduce");
    const size_t width = dtype_size(t.dtype());
    const auto [begin, end] = slice_of(rank_, g.size, t.numel());
    g.in[rank_] = t.raw();
    g.out[rank_] = t.raw();
    g.rendezvous(rank_, what);
    std::vector<char>& mine = g.scratch[rank_];
    mine.resize(static_cast<size_t>(end - begin) * width);
    if (end > begin) reduce_slice(t.dtype(), g.in, begin, end, op, mine.data());
    g.rendezvous(rank_, what);
    for (int k = 0; k < g.size; ++k) {
      if (end > begin) std::memcpy(static_cast<char*>(g.out[k]) + begin * width, mine.data(), mine.size());
    }
    g.rendezvous(rank_, what);
  }

  void reduce_scatter_now(const Tensor& in, Tensor& out, ReduceOp op) {
    GroupState& g = *group_;
    const std::string what = name("reduce_scatter");
    const int64_t n = out.numel();
    g.in[rank_] = in.raw();
    g.rendezvous(rank_, what);
    // Chunk r of every rank's input, reduced straight into this rank's output.
    reduce_slice(in.dtype(), g.in, rank_ * n, (rank_ + 1) * n, op, out.raw());
    g.rendezvous(rank_, what);
  }

  void all_gather_now(const Tensor& in, Tensor& out) {
    GroupState& g = *group_;
    const std::string what = name("all_gather");
    const size_t bytes = in.nbytes();
    g.in[rank_] = in.raw();
    g.rendezvous(rank_, what);
    for (int k = 0; k < g.size; ++k) {
      char* to = static_cast<char*>(out.raw()) + k * bytes;
      if (to != g.in[k]) std::memcpy(to, g.in[k], bytes);  // in place: chunk rank_ is there
    }
    g.rendezvous(rank_, what);
  }

  void broadcast_now(Tensor& t, int root) {
    GroupState& g = *group_;
    const std::string what = name("broadcast");
    g.in[rank_] = t.raw();
    g.out[rank_] = reinterpret_cast<void*>(static_cast<uintptr_t>(t.nbytes()));
    g.rendezvous(rank_, what);
    const size_t root_bytes = static_cast<size_t>(reinterpret_cast<uintptr_t>(g.out[root]));
    const bool same = root_bytes == t.nbytes();
    if (same && rank_ != root) std::memcpy(t.raw(), g.in[root], t.nbytes());
    g.rendezvous(rank_, what);
    WEFT_CHECK(same, what, " on ", g.label, ": rank ", rank_, " has ", t.nbytes(),
               " bytes, root ", root, " has ", root_bytes);
  }

  std::shared_ptr<GroupState> group_;
  int rank_;
  int64_t sequence_ = 0;
  Worker worker_;
};

std::shared_ptr<GroupState> make_group(int n, std::string label, CommOptions options,
                                       std::shared_ptr<Universe> universe) {
  auto group = std::make_shared<GroupState>(n, std::move(label), options, universe);
  std::weak_ptr<GroupState> weak = group;
  std::lock_guard<std::mutex> lock(universe->mutex);
  universe->wake.push_back([weak] {
    if (auto g = weak.lock()) {
      std::lock_guard<std::mutex> l(g->mutex);
      g->cv.notify_all();
    }
  });
  return group;
}

std::shared_ptr<Communicator> SimulatedCommunicator::split(int color, int key) {
  std::shared_ptr<Communicator> result;
  run_ordered([&] {
    GroupState& g = *group_;
    const std::string what = name("split");
    g.split_color[rank_] = color;
    g.split_key[rank_] = key;
    g.rendezvous(rank_, what);
    // Members of this rank's color, ordered by (key, old rank).
    std::vector<std::pair<int, int>> members;
    for (int r = 0; r < g.size; ++r) {
      if (g.split_color[r] == color) members.push_back({g.split_key[r], r});
    }
    std::sort(members.begin(), members.end());
    const int leader = members.front().second;
    if (leader == rank_) {
      std::string label = detail::concat("simulated group of ", members.size(), " (ranks");
      for (const auto& m : members) label += " " + std::to_string(m.second);
      label += " of " + g.label + ")";
      g.split_result[rank_] =
          make_group(static_cast<int>(members.size()), label, g.options, g.universe);
    }
    g.rendezvous(rank_, what);
    const auto mine = std::find_if(members.begin(), members.end(),
                                   [&](const auto& m) { return m.second == rank_; });
    result = std::make_shared<SimulatedCommunicator>(g.split_result[leader],
                                                     static_cast<int>(mine - members.begin()));
    g.rendezvous(rank_, what);
  });
  return result;
}

std::vector<std::shared_ptr<Communicator>> make_world(int n, CommOptions options,
                                                      std::shared_ptr<Universe> universe) {
  WEFT_CHECK(n >= 1, "simulated ranks: need at least 1 rank, got ", n);
  auto group = make_group(n, detail::concat("simulated world (", n, " ranks)"), options, universe);
  std::vector<std::shared_ptr<Communicator>> world;
  for (int r = 0; r < n; ++r) world.push_back(std::make_shared<SimulatedCommunicator>(group, r));
  return world;
}

}  // namespace

std::vector<std::shared_ptr<Communicator>> make_simulated_world(int n, CommOptions options) {
  return make_world(n, options, std::make_shared<Universe>());
}

void run_simulated_ranks(int n, const std::function<void(std::shared_ptr<Communicator>)>& body,
                         CommOptions options) {
  auto universe = std::make_shared<Universe>();
  auto world = make_world(n, options, universe);
  const int omp_threads = std::max(1, omp_get_max_threads() / n);

  std::mutex failure_mutex;
  std::exception_ptr first_failure;
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      omp_set_num_threads(omp_threads);
      try {
        body(world[r]);
      } catch (...) {
        std::string text = "unknown exception";
        try {
          throw;
        } catch (const Error& e) {
          text = e.message();
        } catch (const std::exception& e) {
          text = e.what();
        } catch (...) {
        }
        {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (!first_failure) first_failure = std::current_exception();
        }
        // Peers waiting in (or later reaching) a collective fail instead of hanging.
        universe->abort(detail::concat("rank ", r, " failed: ", text));
      }
    });
  }
  for (auto& t : threads) t.join();
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace weft
