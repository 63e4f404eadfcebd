// A collective that cannot complete fails on every waiting rank, within the
// group's timeout, with a message naming the collective, its sequence number
// and the rank that did not arrive; a rank that throws makes the others fail
// rather than hang.

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <regex>
#include <thread>

#include "collective_driver.h"
#include "support/error_testing.h"
#include "weft/comm/simulated.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Rank 2 of 3 never issues collective #2 (the first is a barrier); the
// others issue it blocking or asynchronously.
void check_missing_rank_is_named(bool async) {
  std::mutex mutex;
  std::vector<std::string> messages(3);
  const auto start = Clock::now();
  const std::string thrown = error_of([&] {
    run_simulated_ranks(
        3,
        [&](std::shared_ptr<Communicator> comm) {
          comm->barrier();
          if (comm->rank() == 2) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1200));
            return;
          }
          Tensor t = rank_input(DType::F32, 7, comm->rank(), 1);
          try {
            if (async) {
              comm->all_reduce_async(t)->wait();
            } else {
              comm->all_reduce(t);
            }
          } catch (const Error& e) {
            std::lock_guard<std::mutex> lock(mutex);
            messages[comm->rank()] = e.what();
            throw;
          }
        },
        CommOptions{/*timeout_seconds=*/0.5});
  });
  EXPECT_LT(seconds_since(start), 10.0);
  const std::regex names_it(R"(all_reduce #2\b.*rank\(s\) 2 did not arrive)");
  for (int r : {0, 1}) {
    EXPECT_TRUE(std::regex_search(messages[r], names_it))
        << "rank " << r << " said \"" << messages[r] << "\"";
  }
  EXPECT_TRUE(std::regex_search(thrown, names_it)) << thrown;
}

TEST(CommTimeout, MissingRankIsNamedInABlockingCollective) {
  check_missing_rank_is_named(false);
}
TEST(CommTimeout, MissingRankIsNamedInAnAsyncCollective) {
  check_missing_rank_is_named(true);
}

TEST(CommTimeout, GroupIsUnusableAfterATimeout) {
  std::string later;
  run_simulated_ranks(
      2,
      [&](std::shared_ptr<Communicator> comm) {
        if (comm->rank() == 1) return;  // never arrives
        Tensor t = rank_input(DType::F64, 7, 0, 1);
        error_of([&] { comm->all_reduce(t); });
        later = error_of([&] { comm->barrier(); });
      },
      CommOptions{/*timeout_seconds=*/0.3});
  EXPECT_NE(later.find("all_reduce #1"), std::string::npos) << later;
}

TEST(CommTimeout, ARankThatThrowsStopsTheOthers) {
  std::mutex mutex;
  std::vector<std::string> messages(4);
  const auto start = Clock::now();
  const std::string thrown = error_of([&] {
    run_simulated_ranks(
        4,
        [&](std::shared_ptr<Communicator> comm) {
          comm->barrier();
          if (comm->rank() == 1) throw Error("rank 1 could not read its shard");
          Tensor t = rank_input(DType::F32, 1001, comm->rank(), 2);
          try {
            Pending done = comm->all_reduce_async(t);
            comm->barrier();
            done->wait();
          } catch (const Error& e) {
            std::lock_guard<std::mutex> lock(mutex);
            messages[comm->rank()] = e.what();
            throw;
          }
        },
        CommOptions{/*timeout_seconds=*/120.0});  // far longer than the test may take
  });
  EXPECT_LT(seconds_since(start), 10.0) << "the others waited for their timeout";
  EXPECT_NE(thrown.find("could not read its shard"), std::string::npos) << thrown;
  for (int r : {0, 2, 3}) {
    EXPECT_NE(messages[r].find("rank 1 failed"), std::string::npos)
        << "rank " << r << " said \"" << messages[r] << "\"";
  }
}

}  // namespace
}  // namespace weft::testing
