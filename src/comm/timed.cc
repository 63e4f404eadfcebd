#include "weft/comm/timed.h"

#include <chrono>

namespace weft {
namespace {

using Clock = std::chrono::steady_clock;

class Stopwatch {
 public:
  explicit Stopwatch(WaitClock& clock) : clock_(clock), start_(Clock::now()) {}
  ~Stopwatch() { clock_.seconds += std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  WaitClock& clock_;
  Clock::time_point start_;
};

class TimedPending final : public PendingCollective {
 public:
  TimedPending(Pending inner, std::shared_ptr<WaitClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  void wait() override {
    Stopwatch watch(*clock_);
    inner_->wait();
  }
  void wait_on_device() override { inner_->wait_on_device(); }

 private:
  Pending inner_;
  std::shared_ptr<WaitClock> clock_;
};

class Timed final : public Communicator {
 public:
  Timed(std::shared_ptr<Communicator> inner, std::shared_ptr<WaitClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string describe() const override { return inner_->describe(); }

  void all_reduce(Tensor& t, ReduceOp op) override {
    Stopwatch watch(*clock_);
    inner_->all_reduce(t, op);
  }
  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    return timed(inner_->all_reduce_async(t, op));
  }
  void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) override {
    Stopwatch watch(*clock_);
    inner_->reduce_scatter(in, out, op);
  }
  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    return timed(inner_->reduce_scatter_async(in, out, op));
  }
  void all_gather(const Tensor& in, Tensor& out) override {
    Stopwatch watch(*clock_);
    inner_->all_gather(in, out);
  }
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    return timed(inner_->all_gather_async(in, out));
  }
  void broadcast(Tensor& t, int root) override {
    Stopwatch watch(*clock_);
    inner_->broadcast(t, root);
  }
  void barrier() override {
    Stopwatch watch(*clock_);
    inner_->barrier();
  }
  std::shared_ptr<Communicator> split(int color, int key) override {
    return std::make_shared<Timed>(inner_->split(color, key), clock_);
  }

 private:
  Pending timed(Pending p) { return std::make_unique<TimedPending>(std::move(p), clock_); }

  std::shared_ptr<Communicator> inner_;
  std::shared_ptr<WaitClock> clock_;
};

}  // namespace

std::shared_ptr<Communicator> with_wait_clock(std::shared_ptr<Communicator> inner,
                                              std::shared_ptr<WaitClock> clock) {
  return std::make_shared<Timed>(std::move(inner), std::move(clock));
}

}  // namespace weft
