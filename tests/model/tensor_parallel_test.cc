// The tensor-parallel mappings of weft/model/tensor_parallel.h under 2 and 4
// simulated ranks: f (copy_to_tensor_parallel_region) and g
// (reduce_from_tensor_parallel_region) against sums computed here, and a
// column-parallel Linear followed by a row-parallel one against the same two
// layers on one rank, forward and backward.

#include "weft/model/tensor_parallel.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "support/tensor_testing.h"
#include "weft/comm/counting.h"
#include "weft/comm/simulated.h"
#include "weft/model/linear.h"

namespace weft {
namespace {

using testing::all_close;
using testing::random_tensor;

constexpr double kRel = 1e-12, kAbs = 1e-14;
const Shape kShape{3, 2, 5};

// What rank r holds before a mapping: different on every rank.
Tensor rank_tensor(int rank) {
  return random_tensor(kShape, DType::F64, 10 + rank);
}

// Σ over the group of rank_tensor, in double.
Tensor group_sum(int size) {
  Tensor sum = Tensor::zeros(kShape, DType::F64);
  for (int r = 0; r < size; ++r) {
    const Tensor t = rank_tensor(r);
    for (int64_t i = 0; i < sum.numel(); ++i) sum.data<double>()[i] += t.data<double>()[i];
  }
  return sum;
}

class TensorParallelMappings : public ::testing::TestWithParam<int> {
 protected:
  // Runs check(group) on every rank, the group wrapped in a counter.
  void on_every_rank(const std::function<void(CountingCommunicator&)>& check) {
    run_simulated_ranks(GetParam(), [&](std::shared_ptr<Communicator> world) {
      CountingCommunicator group(world);
      check(group);
    });
  }
};

TEST_P(TensorParallelMappings, CopyToRegionForwardIsTheIdentity) {
  on_every_rank([](CountingCommunicator& group) {
    const Tensor x = rank_tensor(group.rank());
    const Tensor& out = copy_to_tensor_parallel_region_forward(group, x);
    EXPECT_EQ(&out, &x) << "rank " << group.rank();
    EXPECT_TRUE(all_close(out, rank_tensor(group.rank()), 0.0, 0.0)) << "rank " << group.rank();
    EXPECT_EQ(group.tally().calls(), 0) << "rank " << group.rank();
  });
}

TEST_P(TensorParallelMappings, CopyToRegionBackwardSumsOverTheGroup) {
  on_every_rank([](CountingCommunicator& group) {
    Tensor dx = rank_tensor(group.rank());
    copy_to_tensor_parallel_region_backward(group, dx);
    EXPECT_TRUE(all_close(dx, group_sum(group.size()), kRel, kAbs)) << "rank " << group.rank();
    EXPECT_EQ(group.tally().all_reduce.calls, 1);
    EXPECT_EQ(group.tally().calls(), 1);
  });
}

TEST_P(TensorParallelMappings, ReduceFromRegionForwardSumsOverTheGroup) {
  on_every_rank([](CountingCommunicator& group) {
    Tensor y = rank_tensor(group.rank());
    reduce_from_tensor_parallel_region_forward(group, y);
    EXPECT_TRUE(all_close(y, group_sum(group.size()), kRel, kAbs)) << "rank " << group.rank();
    EXPECT_EQ(group.tally().all_reduce.calls, 1);
    EXPECT_EQ(group.tally().calls(), 1);
  });
}

TEST_P(TensorParallelMappings, ReduceFromRegionBackwardIsTheIdentity) {
  on_every_rank([](CountingCommunicator& group) {
    const Tensor dy = rank_tensor(group.rank());
    const Tensor& out = reduce_from_tensor_parallel_region_backward(group, dy);
    EXPECT_EQ(&out, &dy) << "rank " << group.rank();
    EXPECT_TRUE(all_close(out, rank_tensor(group.rank()), 0.0, 0.0)) << "rank " << group.rank();
    EXPECT_EQ(group.tally().calls(), 0) << "rank " << group.rank();
  });
}

TEST_P(TensorParallelMappings, GatherFromRegionPlacesEachRanksColumns) {
  on_every_rank([](CountingCommunicator& group) {
    const int64_t N = 3, C = 4, n = group.size();
    const Tensor local = random_tensor({N, C}, DType::F64, 30 + group.rank());
    Tensor staging, out;
    gather_from_tensor_parallel_region_forward(group, local, staging, out);
    ASSERT_EQ(out.shape(), (Shape{N, C * n}));
    for (int r = 0; r < n; ++r) {
      const Tensor expected = random_tensor({N, C}, DType::F64, 30 + r);
      for (int64_t i = 0; i < N; ++i) {
        for (int64_t c = 0; c < C; ++c) {
          EXPECT_EQ(out.data<double>()[i * C * n + r * C + c], expected.data<double>()[i * C + c])
              << "rank " << group.rank() << " reads row " << i << " column " << c << " of rank "
              << r;
        }
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, TensorParallelMappings, ::testing::Values(2, 4));

TEST(TensorParallelGroupOfOne, MappingsLeaveTensorsAsTheyAre) {
  auto group = make_single_rank_communicator();
  Tensor t = rank_tensor(0);
  copy_to_tensor_parallel_region_backward(*group, t);
  reduce_from_tensor_parallel_region_forward(*group, t);
  EXPECT_TRUE(all_close(t, rank_tensor(0), 0.0, 0.0));
}

// fc1 (in → hidden) column-parallel, fc2 (hidden → out) row-parallel, as
// feed-forward and attention pair them, on one rank and under tp ranks.
constexpr int64_t kIn = 6, kHidden = 8, kOut = 5;
const Shape kInput{2, 3, kIn}, kOutput{2, 3, kOut};

struct TwoLayers {
  Linear fc1, fc2;
  explicit TwoLayers(const LayerContext& ctx)
      : fc1("fc1", kIn, kHidden, ctx, Parallel::Column, 0.5),
        fc2("fc2", kHidden, kOut, ctx, Parallel::Row, 0.5) {
    initialize_parameters(parameters(), 3);
    // Non-zero biases, the same full values on every layout: fc1's is split
    // like its output, fc2's is replicated and must be added once.
    Parameter& b1 = *fc1.parameters()[1];
    b1.value.copy_from(random_tensor({kHidden}, DType::F64, 4)
                           .rows(b1.shard_offset, b1.shard_offset + b1.value.dim(0)));
    fc2.parameters()[1]->value.copy_from(random_tensor({kOut}, DType::F64, 5));
  }
  std::vector<Parameter*> parameters() {
    std::vector<Parameter*> params = fc1.parameters();
    for (Parameter* p : fc2.parameters()) params.push_back(p);
    return params;
  }
};

struct PairResult {
  Tensor y, dx;
};

// One forward and backward from x = random(kInput), dy = random(kOutput).
PairResult run_pair(TwoLayers& layers) {
  const Tensor x = random_tensor(kInput, DType::F64, 1);
  const Tensor dy = random_tensor(kOutput, DType::F64, 2);
  const int64_t local = layers.fc1.out_local();
  Tensor h = Tensor::zeros({2, 3, local}, DType::F64),
         dh = Tensor::zeros({2, 3, local}, DType::F64);
  PairResult r{Tensor::zeros(kOutput, DType::F64), Tensor::zeros(kInput, DType::F64)};
  layers.fc1.forward(x, h);
  layers.fc2.forward(h, r.y);
  layers.fc2.backward(h, dy, dh);
  layers.fc1.backward(x, dh, r.dx);
  return r;
}

// This rank's slice of a full tensor, along p's shard dimension.
Tensor shard_of(const Tensor& full, const Parameter& p) {
  if (p.shard_dim < 0) return full;
  const Shape& local = p.value.shape();
  int64_t inner = 1;
  for (size_t d = p.shard_dim + 1; d < local.size(); ++d) inner *= local[d];
  const int64_t local_dim = local[p.shard_dim], full_dim = p.full_shape[p.shard_dim];
  Tensor out = Tensor::zeros(local, DType::F64);
  for (int64_t i = 0; i < out.numel(); ++i) {
    const int64_t outer = i / (inner * local_dim), mid = (i / inner) % local_dim, in = i % inner;
    out.data<double>()[i] =
        full.data<double>()[(outer * full_dim + p.shard_offset + mid) * inner + in];
  }
  return out;
}

class ParallelLinearPair : public ::testing::TestWithParam<int> {};

TEST_P(ParallelLinearPair, EqualsTheUnshardedLayersAndTheirGradients) {
  TwoLayers single(LayerContext{DType::F64, Device::CPU});
  const PairResult expected = run_pair(single);
  std::vector<Tensor> expected_grads;
  for (Parameter* p : single.parameters()) expected_grads.push_back(p->grad);

  run_simulated_ranks(GetParam(), [&](std::shared_ptr<Communicator> world) {
    auto group = std::make_shared<CountingCommunicator>(world);
    TwoLayers layers(LayerContext{DType::F64, Device::CPU, group});
    const PairResult got = run_pair(layers);
    const int rank = group->rank();
    // One g (fc2's forward) and one f (fc1's backward), each over (2,3,·) f64.
    EXPECT_EQ(group->tally().all_reduce.calls, 2) << "rank " << rank;
    EXPECT_EQ(group->tally().all_reduce.bytes, (2 * 3 * kOut + 2 * 3 * kIn) * 8) << "rank " << rank;
    EXPECT_EQ(group->tally().calls(), 2) << "rank " << rank;
    EXPECT_TRUE(all_close(got.y, expected.y, kRel, kAbs)) << "output, rank " << rank;
    EXPECT_TRUE(all_close(got.dx, expected.dx, kRel, kAbs)) << "input gradient, rank " << rank;
    const std::vector<Parameter*> params = layers.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(all_close(params[i]->grad, shard_of(expected_grads[i], *params[i]), kRel, kAbs))
          << params[i]->name << ", rank " << rank;
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, ParallelLinearPair, ::testing::Values(2, 4));

}  // namespace
}  // namespace weft
