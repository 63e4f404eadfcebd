// Run as `mpirun -n 4 mpi_blame_check <stopped|frozen> <victim>`: world rank
// <victim> stops taking part, the others time out (1.5 s) and one of them
// aborts the job. check_blame.cmake then checks that the timeout messages
// name exactly the victim as what holds the job up, whichever rank prints.
//
// stopped: the victim stops itself (SIGSTOP) before the world's all_reduce
// #2, which the others enter.
//
// frozen: the layout of tensor parallelism 2 (tp groups {0 1} {2 3}, dp
// groups {0 2} {1 3}). The victim issues tp all_reduce #2 and stops while
// waiting in it, 0.2 s later. Its tp partner issues #2 at 0.5 s and waits
// with it (a large tensor: its part cannot complete without the victim's).
// The other tp pair completes its own #2 and enters dp all_reduce #2: the
// victim's tp partner's dp partner at once, so that it times out first and
// has to follow that healthy partner into the tp group to find the victim;
// the victim's dp partner 1 s later.
//
// A stopped victim stays out when the abort continues it (SIGCONT): it waits
// for the end of the job in pause().

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "weft/comm/mpi.h"

namespace {

void stop_for_good() {
  raise(SIGSTOP);
  for (;;) pause();
}

void on_alarm(int) {
  stop_for_good();
}

// Stops this process `seconds` from now, wherever its main thread is.
void stop_in(double seconds) {
  struct sigaction action {};
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, nullptr);
  itimerval timer{};
  timer.it_value.tv_sec = static_cast<time_t>(seconds);
  timer.it_value.tv_usec = static_cast<suseconds_t>((seconds - static_cast<int>(seconds)) * 1e6);
  setitimer(ITIMER_REAL, &timer, nullptr);
}

void sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

int completed_without(const char* collective, int victim) {
  std::printf("mpi_blame_check: %s completed without world rank %d\n", collective, victim);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace weft;
  if (argc != 3 || (std::strcmp(argv[1], "stopped") != 0 && std::strcmp(argv[1], "frozen") != 0)) {
    std::printf("usage: mpi_blame_check stopped|frozen <victim world rank>\n");
    return 1;
  }
  const bool frozen = std::strcmp(argv[1], "frozen") == 0;
  const int victim = std::atoi(argv[2]);
  std::shared_ptr<Communicator> world = make_mpi_world(CommOptions{/*timeout_seconds=*/1.5});
  if (world->size() != 4 || victim < 0 || victim > 3) {
    std::printf("mpi_blame_check: needs exactly 4 MPI processes and a victim in 0..3 (%d, %d)\n",
                world->size(), victim);
    return 1;
  }
  const int rank = world->rank();

  if (!frozen) {
    world->barrier();  // collective #1, which everyone issues
    if (rank == victim) stop_for_good();
    Tensor t = Tensor::zeros({7});
    world->all_reduce_async(t)->wait();
    return completed_without("the world's all_reduce #2", victim);
  }

  std::shared_ptr<Communicator> tp = world->split(/*color=*/rank / 2, /*key=*/rank % 2);
  std::shared_ptr<Communicator> dp = world->split(/*color=*/rank % 2, /*key=*/rank / 2);
  tp->barrier();  // #1 of each group, which everyone issues
  dp->barrier();
  world->barrier();
  Tensor large = Tensor::zeros({1 << 18});  // past every transport's eager limit
  Tensor small = Tensor::zeros({7});
  const int tp_partner = victim ^ 1, dp_partner = victim ^ 2;
  if (rank == victim) {
    stop_in(0.2);
  } else if (rank == tp_partner) {
    sleep_for(0.5);
  }
  tp->all_reduce_async(large)->wait();
  if (rank == victim || rank == tp_partner) return completed_without("tp all_reduce #2", victim);
  if (rank == dp_partner) sleep_for(1.0);
  dp->all_reduce_async(small)->wait();
  return completed_without("dp all_reduce #2", victim);
}
