// How the ranks of a save stay in step: after each phase they all-reduce one
// flag per rank, so a failure anywhere stops every rank at the same point,
// with a message, instead of leaving the others waiting for a collective that
// never comes.

#include <exception>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/error.h"

namespace weft::checkpoint {

void agree_on_phase(Communicator& world, const std::string& what,
                    const std::function<void()>& part) {
  std::exception_ptr failure;
  try {
    part();
  } catch (...) {
    failure = std::current_exception();
  }
  if (world.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  Tensor failed = Tensor::zeros({world.size()}, DType::I32);  // 1 at each failed rank
  failed.data<int32_t>()[world.rank()] = failure ? 1 : 0;
  try {
    world.all_reduce(failed, ReduceOp::Sum);
  } catch (...) {
    if (failure) std::rethrow_exception(failure);  // this rank's error says more
    throw;
  }
  if (failure) std::rethrow_exception(failure);
  std::string ranks;
  int count = 0;
  for (int r = 0; r < world.size(); ++r) {
    if (failed.data<int32_t>()[r] == 0) continue;
    ranks += (count++ ? ", " : " ") + std::to_string(r);
  }
  if (count > 0) {
    throw Error("save_checkpoint: rank" + std::string(count > 1 ? "s" : "") + ranks + " of " +
                world.describe() + " failed " + what + " (see " +
                (count > 1 ? "their errors" : "its error") + ")");
  }
}

std::string share_temp_directory(Communicator& world, const std::string& prefix,
                                 const std::string& temp) {
  if (world.size() == 1) return temp;
  constexpr int64_t kRandom = 6;  // mkdtemp's XXXXXX
  Tensor chars = Tensor::zeros({kRandom}, DType::I32);
  if (world.rank() == 0) {
    for (int64_t i = 0; i < kRandom; ++i) chars.data<int32_t>()[i] = temp[prefix.size() + i];
  }
  world.broadcast(chars, 0);
  std::string out = prefix;
  for (int64_t i = 0; i < kRandom; ++i) out += static_cast<char>(chars.data<int32_t>()[i]);
  return out;
}

}  // namespace weft::checkpoint
