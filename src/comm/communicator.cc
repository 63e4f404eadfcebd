#include "weft/comm/communicator.h"

#include "weft/tensor/error.h"

namespace weft {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Average: return "average";
    case ReduceOp::Max: return "max";
  }
  return "?";
}

void Communicator::all_reduce(Tensor& t, ReduceOp op) {
  all_reduce_async(t, op)->wait();
}

void Communicator::reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) {
  reduce_scatter_async(in, out, op)->wait();
}

void Communicator::all_gather(const Tensor& in, Tensor& out) {
  all_gather_async(in, out)->wait();
}

namespace {

class Completed final : public PendingCollective {
 public:
  void wait() override {}
};

// The group of one: reductions over one rank are the identity.
class SingleRank final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "single rank"; }

  void all_reduce(Tensor& t, ReduceOp op) override { comm_checks::check_reducible("all_reduce", t, op); }
  Pending all_reduce_async(Tensor& t, ReduceOp op) override {
    all_reduce(t, op);
    return completed_collective();
  }
  void reduce_scatter(const Tensor& in, Tensor& out, ReduceOp op) override {
    comm_checks::check_reduce_scatter(in, out, 1, 0, op);
    if (out.raw() != in.raw()) out.copy_from(in.view(out.shape()));
  }
  Pending reduce_scatter_async(const Tensor& in, Tensor& out, ReduceOp op) override {
    reduce_scatter(in, out, op);
    return completed_collective();
  }
  void all_gather(const Tensor& in, Tensor& out) override {
    comm_checks::check_all_gather(in, out, 1, 0);
    if (out.raw() != in.raw()) out.copy_from(in.view(out.shape()));
  }
  Pending all_gather_async(const Tensor& in, Tensor& out) override {
    all_gather(in, out);
    return completed_collective();
  }
  void broadcast(Tensor&, int root) override { comm_checks::check_root("broadcast", root, 1); }
  void barrier() override {}
  std::shared_ptr<Communicator> split(int, int) override {
    return std::make_shared<SingleRank>();
  }
};

}  // namespace

std::shared_ptr<Communicator> make_single_rank_communicator() {
  return std::make_shared<SingleRank>();
}

Pending completed_collective() { return std::make_unique<Completed>(); }

namespace comm_checks {

void check_reducible(const char* collective, const Tensor& t, ReduceOp op) {
  WEFT_CHECK(t.defined(), collective, ": the tensor is undefined");
  const DType d = t.dtype();
  WEFT_CHECK(d == DType::F32 || d == DType::F64 || d == DType::I32 || d == DType::BF16,
             collective, ": ", t.describe(), " is not f32, f64, bf16 or i32");
  WEFT_CHECK(!(d == DType::I32 && op == ReduceOp::Average), collective,
             ": average of an i32 tensor would truncate; sum it and divide");
  // bf16 sums are tensor-parallel activations; averages are for f32 and f64.
  WEFT_CHECK(!(d == DType::BF16 && op == ReduceOp::Average), collective,
             ": average of a bf16 tensor is not supported; sum it and scale");
}

namespace {

// In place: `part` is chunk `rank` of `whole` (NCCL's in-place layout).
bool is_chunk_of(const Tensor& part, const Tensor& whole, int rank) {
  return static_cast<const char*>(part.raw()) ==
         static_cast<const char*>(whole.raw()) + static_cast<size_t>(rank) * part.nbytes();
}

// Any other overlap of the two buffers is refused.
bool overlap(const Tensor& a, const Tensor& b) {
  const char* a0 = static_cast<const char*>(a.raw());
  const char* b0 = static_cast<const char*>(b.raw());
  return a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

}  // namespace

bool reduce_scatter_in_place(const Tensor& in, const Tensor& out, int rank) {
  return is_chunk_of(out, in, rank);
}

bool all_gather_in_place(const Tensor& in, const Tensor& out, int rank) {
  return is_chunk_of(in, out, rank);
}

void check_reduce_scatter(const Tensor& in, const Tensor& out, int group_size, int rank,
                          ReduceOp op) {
  check_reducible("reduce_scatter", in, op);
  WEFT_CHECK(out.defined() && out.dtype() == in.dtype() && out.device() == in.device(),
             "reduce_scatter: output ", out.defined() ? out.describe() : std::string("undefined"),
             " must match the input ", in.describe(), " in dtype and device");
  WEFT_CHECK(in.numel() == out.numel() * group_size, "reduce_scatter: input ", in.describe(),
             " must hold ", group_size, " chunks of the output's ", out.numel(), " elements");
  WEFT_CHECK(reduce_scatter_in_place(in, out, rank) || !overlap(in, out),
             "reduce_scatter: the output overlaps the input but is not its chunk ", rank,
             " (in place, the output is exactly this rank's chunk)");
}

void check_all_gather(const Tensor& in, const Tensor& out, int group_size, int rank) {
  WEFT_CHECK(in.defined() && out.defined(), "all_gather: undefined tensor");
  WEFT_CHECK(out.dtype() == in.dtype() && out.device() == in.device(), "all_gather: output ",
             out.describe(), " must match the input ", in.describe(), " in dtype and device");
  WEFT_CHECK(out.numel() == in.numel() * group_size, "all_gather: output ", out.describe(),
             " must hold ", group_size, " chunks of the input's ", in.numel(), " elements");
  WEFT_CHECK(all_gather_in_place(in, out, rank) || !overlap(in, out),
             "all_gather: the input overlaps the output but is not its chunk ", rank,
             " (in place, the input is exactly this rank's chunk)");
}

void check_root(const char* collective, int root, int group_size) {
  WEFT_CHECK(root >= 0 && root < group_size, collective, ": root ", root,
             " is not a rank of a group of ", group_size);
}

}  // namespace comm_checks
}  // namespace weft
