#include "weft/comm/communicator.h"

namespace weft {
namespace {

class SingleRank final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Tensor&) override {}
  void broadcast(Tensor&, int) override {}
  void barrier() override {}
};

}  // namespace

std::shared_ptr<Communicator> make_single_rank_communicator() {
  return std::make_shared<SingleRank>();
}

}  // namespace weft
