#include "mpi_roll_call.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "mpi_check.h"
#include "mpi_runtime.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

constexpr int kQuestionTag = 1;  // (first slot, count)
constexpr int kAnswerTag = 2;    // the count slots

// Whether `request` is complete; an erroneous completion (a peer's link
// broke) counts as complete, as nothing of it is in flight any more.
bool completed(MPI_Request* request) {
  int done = 0;
  return MPI_Test(request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done != 0;
}

}  // namespace

RollCall::RollCall(MPI_Comm world, int slots) : slots_(slots, 0) {
  comm_ = mpi_runtime::duplicate(world);
  WEFT_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  post_question_receive();
}

RollCall::~RollCall() {
  if (mpi_runtime::finalized()) return;
  answers_.erase(std::remove_if(answers_.begin(), answers_.end(),
                                [](InFlight& a) { return completed(&a.request); }),
                 answers_.end());
  // A request still in flight keeps the communicator: it is left to the job's end.
  if (!left_.empty() || !answers_.empty()) return;
  MPI_Cancel(&question_.request);
  MPI_Wait(&question_.request, MPI_STATUS_IGNORE);
  MPI_Comm_free(&comm_);
}

void RollCall::post_question_receive() {
  question_.buffer = std::make_unique<int64_t[]>(2);
  WEFT_MPI_CHECK(MPI_Irecv(question_.buffer.get(), 2, MPI_INT64_T, MPI_ANY_SOURCE, kQuestionTag,
                           comm_, &question_.request));
}

void RollCall::serve() {
  for (;;) {
    int done = 0;
    MPI_Status status;
    if (MPI_Test(&question_.request, &done, &status) != MPI_SUCCESS || !done) break;
    const int64_t first = question_.buffer[0], count = question_.buffer[1];
    const auto size = static_cast<int64_t>(slots_.size());
    if (first >= 0 && count > 0 && first + count <= size) {
      InFlight answer;
      answer.buffer = std::make_unique<int64_t[]>(count);
      std::copy(slots_.begin() + first, slots_.begin() + first + count, answer.buffer.get());
      if (MPI_Isend(answer.buffer.get(), static_cast<int>(count), MPI_INT64_T, status.MPI_SOURCE,
                    kAnswerTag, comm_, &answer.request) == MPI_SUCCESS) {
        answers_.push_back(std::move(answer));
      }
    }
    post_question_receive();
  }
  answers_.erase(std::remove_if(answers_.begin(), answers_.end(),
                                [](InFlight& a) { return completed(&a.request); }),
                 answers_.end());
}

std::vector<std::optional<std::vector<int64_t>>> RollCall::read(
    const std::vector<int>& world_ranks, int first, int count, double patience_seconds,
    const std::function<void()>& polling) {
  WEFT_CHECK(first >= 0 && count > 0 && first + count <= static_cast<int>(slots_.size()),
             "roll call: slots [", first, ", ", first + count, ") are not among the ",
             slots_.size(), " slots");
  std::vector<std::optional<std::vector<int64_t>>> slots(world_ranks.size());
  struct Asked {
    size_t index;
    InFlight question, answer;
  };
  std::vector<Asked> asked;
  for (size_t i = 0; i < world_ranks.size(); ++i) {
    if (world_ranks[i] == rank_) {
      slots[i].emplace(slots_.begin() + first, slots_.begin() + first + count);
      continue;
    }
    Asked a{i, {}, {}};
    a.question.buffer = std::make_unique<int64_t[]>(2);
    a.question.buffer[0] = first;
    a.question.buffer[1] = count;
    a.answer.buffer = std::make_unique<int64_t[]>(count);
    if (MPI_Irecv(a.answer.buffer.get(), count, MPI_INT64_T, world_ranks[i], kAnswerTag, comm_,
                  &a.answer.request) != MPI_SUCCESS) {
      continue;  // unknown
    }
    if (MPI_Isend(a.question.buffer.get(), 2, MPI_INT64_T, world_ranks[i], kQuestionTag, comm_,
                  &a.question.request) != MPI_SUCCESS) {
      left_.push_back(std::move(a.answer));
      continue;
    }
    asked.push_back(std::move(a));
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(patience_seconds);
  while (!asked.empty()) {
    for (size_t k = 0; k < asked.size();) {
      int done = 0;
      MPI_Status status;
      const int rc = MPI_Test(&asked[k].answer.request, &done, &status);
      if (rc == MPI_SUCCESS && !done) {
        ++k;
        continue;
      }
      if (rc == MPI_SUCCESS) {
        const int64_t* got = asked[k].answer.buffer.get();
        slots[asked[k].index].emplace(got, got + count);
      }
      // The question may still be on its way out locally; it completes in serve().
      answers_.push_back(std::move(asked[k].question));
      asked.erase(asked.begin() + static_cast<std::ptrdiff_t>(k));
    }
    if (asked.empty() || Clock::now() > deadline) break;
    serve();
    if (polling) polling();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  for (Asked& a : asked) {
    left_.push_back(std::move(a.question));
    left_.push_back(std::move(a.answer));
  }
  return slots;
}

}  // namespace weft
