#pragma once
// The arrival board's slots read by asking their owner, for worlds where MPI
// gives no one-sided window. Open MPI 4.1 between hosts over TCP is one: its
// osc/rdma needs an RDMA network and refuses the window, and osc/pt2pt would
// block a reader inside MPI_Rget until the target answers, which a lost host
// never does. Here every rank keeps its slots in its own memory and answers
// questions about them whenever it polls (serve()); a reader sends its
// question and polls for the answer with a patience, so a rank that never
// answers (its host down or unreachable, or it stopped outside MPI) costs
// the reader that patience, never a hang.

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace weft {

class RollCall {
 public:
  // Collective over `world` (it takes a communicator of its own). The rank
  // owns `slots` zeros.
  RollCall(MPI_Comm world, int slots);
  ~RollCall();  // frees the communicator unless a question is left unanswered
  RollCall(const RollCall&) = delete;
  RollCall& operator=(const RollCall&) = delete;

  // This rank's own slots, which others' questions are answered from.
  std::vector<int64_t>& slots() { return slots_; }

  // Answers the questions that have come in; called as the rank polls.
  void serve();

  // Slots [first, first + count) of each of `world_ranks` (this rank's own
  // are copied), an empty entry for a rank that did not answer within
  // `patience_seconds`: its question is left in flight. `polling` runs
  // between tests (the board beats there, and this rank keeps serving).
  std::vector<std::optional<std::vector<int64_t>>> read(const std::vector<int>& world_ranks,
                                                        int first, int count,
                                                        double patience_seconds,
                                                        const std::function<void()>& polling);

 private:
  struct InFlight {
    MPI_Request request = MPI_REQUEST_NULL;
    std::unique_ptr<int64_t[]> buffer;  // MPI reads or writes it until complete
  };

  void post_question_receive();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  std::vector<int64_t> slots_;
  InFlight question_;              // the next question, from any rank: (first, count)
  std::vector<InFlight> answers_;  // answers on their way
  std::vector<InFlight> left_;     // questions and answer receives nobody completed
};

}  // namespace weft
