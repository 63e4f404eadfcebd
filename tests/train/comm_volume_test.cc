// The communication-volume formula (weft/train/comm_volume.h) against what
// training steps hand to their collectives: tiny models of both families
// train under simulated dp × tp layouts with the TP and DP groups wrapped in
// CountingCommunicator, and every rank's tally of every step must equal the
// formula exactly. Also the decorator itself, and the formula's refusals.

#include "weft/train/comm_volume.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "support/error_testing.h"
#include "support/tensor_testing.h"
#include "weft/comm/counting.h"
#include "weft/comm/process_groups.h"
#include "weft/comm/simulated.h"
#include "weft/model/factory.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft {
namespace {

using testing::error_of;

// Heads, d_ff and vocabularies divide by 2 and 4. The GPT has an untied head
// and learned positions; the encoder-decoder a tied head, a source
// vocabulary of its own, sinusoidal positions and post-norm.
ModelConfig tiny(const std::string& family) {
  ModelConfig c;
  if (family == "gpt") {
    c = model_preset("tiny-gpt");
    c.tie_embeddings = false;
  } else if (family == "llama") {
    c = model_preset("tiny-llama");  // 4 query heads over 2 key/value heads
  } else if (family == "bert") {
    c = model_preset("tiny-bert");
  } else {
    c = model_preset("tiny-encoder-decoder");
    c.source_vocab_size = 28;
  }
  c.n_heads = 4;
  c.dropout = 0.1;
  c.validate();
  return c;
}

// A global micro-batch of kRows sequences, kAccum micro-batches a step;
// buckets small enough that the gradients fill many.
constexpr int64_t kRows = 4, kTarget = 8, kSource = 9, kAccum = 2, kSteps = 2;
constexpr int64_t kBucketBytes = 512;

StepShape tiny_step(int dp, int tp, bool zero = false, bool sequence_parallel = false,
                    bool recompute_full = false) {
  StepShape s;
  s.recompute_full = recompute_full;
  s.zero = zero;
  s.sequence_parallel = sequence_parallel;
  s.dp = dp, s.tp = tp;
  s.micro_batch_rows = kRows, s.target_len = kTarget, s.source_len = kSource;
  s.grad_accum = kAccum;
  s.dtype_bytes = 4;
  s.bucket_bytes = kBucketBytes;
  return s;
}

// Random ids for this replica's rows: the volume does not depend on them.
class RandomBatches final : public BatchStream {
 public:
  nlohmann::json state() const override { return {{"position", seed_}}; }
  void restore(const nlohmann::json& state) override { seed_ = state.at("position"); }
  RandomBatches(const ModelConfig& c, int64_t rows, uint64_t seed)
      : config_(c), rows_(rows), seed_(seed) {}
  Batch next() override {
    const int32_t V = static_cast<int32_t>(config_.vocab_size);
    Batch b;
    b.input = testing::random_ids({rows_, kTarget}, V, seed_);
    b.target = testing::random_ids({rows_, kTarget}, V, seed_ + 1);
    b.global_counted = kRows * kTarget;  // every target counts, as the loaders know
    if (config_.architecture == Architecture::EncoderDecoder) {
      const auto Vs = static_cast<int32_t>(config_.encoder_vocab_size());
      b.source = testing::random_ids({rows_, kSource}, Vs, seed_ + 2);
    }
    seed_ += 3;
    return b;
  }

 private:
  ModelConfig config_;
  int64_t rows_;
  uint64_t seed_;
};

struct RankCounts {
  std::vector<int64_t> numels;    // of the rank's parameters, in order
  std::vector<CommTally> tp, dp;  // per step
};

// Trains kSteps steps on every rank of a dp × tp layout and returns what each
// rank counted.
std::vector<RankCounts> count_steps(const ModelConfig& config, int dp, int tp, bool zero,
                                    bool sequence_parallel, bool recompute_full) {
  std::mutex mutex;
  std::vector<RankCounts> ranks(static_cast<size_t>(dp * tp));
  run_simulated_ranks(dp * tp, [&](std::shared_ptr<Communicator> world) {
    const ProcessGroups real = make_process_groups(world, tp);
    auto tp_count = std::make_shared<CountingCommunicator>(real.tp);
    auto dp_count = std::make_shared<CountingCommunicator>(real.dp);
    const ProcessGroups groups{real.world, tp_count, dp_count};
    LayerContext ctx;
    ctx.tp = groups.tp;
    ctx.sequence_parallel = sequence_parallel;
    auto model = make_model(config, ctx);
    initialize_parameters(model->parameters(), 42);
    ConstantSchedule schedule(1e-3);
    TrainerOptions options;
    options.grad_accum = kAccum;
    options.buckets.bucket_bytes = kBucketBytes;
    options.recompute = recompute_full ? Recompute::Full : Recompute::None;
    AdamW optimizer(model->parameters(), AdamWOptions{},
                    zero ? zero_owned_ranges(model->parameters(), groups.dp_rank(), dp,
                                             options.buckets)
                         : std::vector<ElementRange>{});
    Trainer trainer(*model, optimizer, schedule, options, groups);
    RandomBatches data(config, kRows / dp, 100 + 10 * static_cast<uint64_t>(groups.dp_rank()));

    RankCounts mine;
    for (const Parameter* p : model->parameters()) mine.numels.push_back(p->value.numel());
    // The first step reduces every bucket after backward, the second
    // overlaps them with it: both must hand over the same.
    for (int64_t s = 0; s < kSteps; ++s) {
      tp_count->reset();
      dp_count->reset();
      trainer.train_step(data);
      mine.tp.push_back(tp_count->tally());
      mine.dp.push_back(dp_count->tally());
    }
    std::lock_guard<std::mutex> lock(mutex);
    ranks[world->rank()] = std::move(mine);
  });
  return ranks;
}

struct Layout {
  std::string family;
  int dp, tp;
  bool zero = false;
  bool sequence_parallel = false;
  bool recompute_full = false;
};

class CommVolumeLayouts : public ::testing::TestWithParam<Layout> {};

TEST_P(CommVolumeLayouts, CountedCollectivesEqualTheFormula) {
  const Layout l = GetParam();
  const ModelConfig config = tiny(l.family);
  const CommVolume expected =
      step_comm_volume(config,
                       tiny_step(l.dp, l.tp, l.zero, l.sequence_parallel, l.recompute_full));
  EXPECT_EQ(expected.tp.calls() > 0, l.tp > 1);
  EXPECT_EQ(expected.dp.calls() > 0, l.dp > 1);
  const std::vector<int64_t> numels = local_parameter_numels(config, l.tp);

  const std::vector<RankCounts> ranks =
      count_steps(config, l.dp, l.tp, l.zero, l.sequence_parallel, l.recompute_full);
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].numels, numels) << "rank " << r << ": parameter sizes";
    for (int64_t s = 0; s < kSteps; ++s) {
      EXPECT_EQ(ranks[r].tp[s], expected.tp) << "rank " << r << ", step " << s + 1 << ", tp group";
      EXPECT_EQ(ranks[r].dp[s], expected.dp) << "rank " << r << ", step " << s + 1 << ", dp group";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    , CommVolumeLayouts,
    ::testing::Values(Layout{"gpt", 2, 1}, Layout{"gpt", 1, 2}, Layout{"gpt", 2, 2},
                      Layout{"gpt", 1, 4}, Layout{"encoder-decoder", 2, 1},
                      Layout{"encoder-decoder", 1, 2}, Layout{"encoder-decoder", 2, 2},
                      Layout{"encoder-decoder", 1, 4}, Layout{"gpt", 2, 1, true},
                      Layout{"gpt", 4, 1, true}, Layout{"encoder-decoder", 2, 2, true},
                      // Sequence parallel; 2 x 9 source rows pad to 20 over tp 4.
                      Layout{"gpt", 1, 2, false, true}, Layout{"gpt", 2, 4, true, true},
                      Layout{"encoder-decoder", 1, 4, false, true},
                      Layout{"encoder-decoder", 2, 4, false, true},
                      // Full recompute, with and without sequence parallelism.
                      Layout{"gpt", 2, 2, false, false, true},
                      Layout{"encoder-decoder", 1, 2, false, false, true},
                      Layout{"encoder-decoder", 2, 2, true, true, true},
                      // RMS norms (one parameter each), SwiGLU, grouped-query.
                      Layout{"llama", 2, 2}, Layout{"llama", 1, 2, false, true},
                      Layout{"llama", 2, 2, true, true, true},
                      // Segments, the embeddings' norm, the masked-LM head.
                      Layout{"bert", 2, 2}, Layout{"bert", 1, 2, false, true},
                      Layout{"bert", 2, 2, true, true, true}),
    [](const ::testing::TestParamInfo<Layout>& info) {
      std::string family = info.param.family;
      std::replace(family.begin(), family.end(), '-', '_');
      return family + "_dp" + std::to_string(info.param.dp) + "_tp" +
             std::to_string(info.param.tp) + (info.param.zero ? "_zero1" : "") +
             (info.param.sequence_parallel ? "_sp" : "") +
             (info.param.recompute_full ? "_recompute" : "");
    });

TEST(CommVolume, UnshardedParametersAddUpToTheConfigsCount) {
  for (const char* preset : {"gpt2-124m", "transformer-base", "numbers-transformer",
                             "gpt-shakespeare-char", "tiny-gpt", "tiny-encoder-decoder",
                             "tiny-llama", "llama-124m", "llama-shakespeare-char", "tiny-bert",
                             "bert-base"}) {
    ModelConfig c = model_preset(preset);
    for (bool tied : {true, false}) {
      c.tie_embeddings = tied;
      const std::vector<int64_t> n = local_parameter_numels(c, 1);
      EXPECT_EQ(std::accumulate(n.begin(), n.end(), int64_t{0}), c.parameter_count())
          << preset << (tied ? ", tied" : ", untied");
    }
  }
}

// The header's formula by hand, for GPT-2 124M (vocabulary padded to 50304)
// at dp 4 × tp 2 with 8 sequences of 1024 tokens per replica, f32.
TEST(CommVolume, Gpt2At4By2FollowsTheHeadersFormula) {
  ModelConfig c = model_preset("gpt2-124m");
  c.vocab_size = 50304;
  StepShape s;
  s.dp = 4, s.tp = 2, s.micro_batch_rows = 32, s.target_len = 1024;
  const CommVolume v = step_comm_volume(c, s);
  const int64_t activation = 4 * 8 * 1024 * 768;
  EXPECT_EQ(v.tp.all_reduce, (CollectiveTally{4 * 12 + 2 + 1, (4 * 12 + 2) * activation + 8}));
  EXPECT_EQ(v.tp.all_gather, (CollectiveTally{1, 32 * 8 * 1024}));
  const int64_t d = 768, f = 3072, V = 50304;
  const int64_t per_layer = 4 * d + (3 * (d * d + d) + d * d) / 2 + d + (2 * d * f + f) / 2 + d;
  const int64_t params = V * d / 2 + 1024 * d + 12 * per_layer + 2 * d;
  EXPECT_EQ(v.dp.all_reduce.bytes, 4 * params + 2 * 8);
  // Layers of 14.2 MB each fill 7 buckets of at most 25 MiB (with the final
  // norm and the positions); the 77 MB embedding shard takes an 8th alone.
  EXPECT_EQ(v.dp.all_reduce.calls, 8 + 1);
  EXPECT_EQ(v.tp.reduce_scatter.calls + v.tp.broadcast.calls + v.dp.all_gather.calls, 0);
}

TEST(CommVolume, OneRankMovesNothing) {
  const CommVolume v = step_comm_volume(tiny("gpt"), tiny_step(1, 1));
  EXPECT_EQ(v.tp, CommTally{});
  EXPECT_EQ(v.dp, CommTally{});
}

// ZeRO-1 replaces each bucket's all-reduce by a reduce-scatter and an
// all-gather of the same bucket, padded to whole 64-element slices: a ring
// sends the same bytes, plus the padding.
TEST(CommVolume, ZeroOneSplitsEachBucketsAllReduceInTwo) {
  const ModelConfig c = model_preset("gpt2-124m");  // 50257 tokens: padded per tp
  StepShape s;
  s.dp = 4, s.tp = 2, s.micro_batch_rows = 32, s.target_len = 1024;
  const CommVolume plain = step_comm_volume(c, s);
  s.zero = true;
  const CommVolume zero = step_comm_volume(c, s);
  const int64_t buckets = plain.dp.all_reduce.calls - 1;
  const int64_t gradient_bytes = plain.dp.all_reduce.bytes - 2 * 8;
  EXPECT_EQ(zero.dp.reduce_scatter.calls, buckets);
  EXPECT_EQ(zero.dp.all_gather.calls, buckets);
  EXPECT_EQ(zero.dp.all_reduce, (CollectiveTally{2, 4 * 8}));
  EXPECT_EQ(zero.dp.all_gather.bytes * 4, zero.dp.reduce_scatter.bytes);
  EXPECT_GE(zero.dp.reduce_scatter.bytes, gradient_bytes);
  EXPECT_LT(zero.dp.reduce_scatter.bytes, gradient_bytes + buckets * 64 * 4 * 4);
  EXPECT_NEAR(ring_bytes_sent(zero.dp, 4), ring_bytes_sent(plain.dp, 4),
              2.0 * buckets * 64 * 4 * 4);
  EXPECT_EQ(zero.tp, plain.tp);
}

TEST(CommVolume, RefusesALayoutTheModelDoesNotDivideInto) {
  ModelConfig c = model_preset("gpt2-124m");
  StepShape s;
  s.tp = 5, s.micro_batch_rows = 8, s.target_len = 1024;
  EXPECT_NE(error_of([&] { step_comm_volume(c, s); }).find("model.n_heads (12)"),
            std::string::npos);
  s.tp = 1, s.dp = 3;
  EXPECT_NE(error_of([&] {
              step_comm_volume(c, s);
            }).find("micro-batch of 8 sequences does not divide across dp = 3"),
            std::string::npos);
}

TEST(CountingCommunicator, TalliesPayloadsAndForwardsEveryCall) {
  std::mutex mutex;
  std::vector<CommTally> world_tallies(2), split_tallies(2);
  run_simulated_ranks(2, [&](std::shared_ptr<Communicator> world) {
    CountingCommunicator count(world);
    Tensor t = Tensor::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f}, {3});
    count.all_reduce(t, ReduceOp::Sum);
    EXPECT_EQ(t.to_double_vector(), (std::vector<double>{2.0, 4.0, 6.0}));
    count.all_reduce_async(t, ReduceOp::Max)->wait();
    Tensor gathered = Tensor::empty({6}, DType::F32);
    count.all_gather(t, gathered);  // the input's 12 bytes
    Tensor scattered = Tensor::empty({3}, DType::F32);
    count.reduce_scatter_async(gathered, scattered, ReduceOp::Sum)->wait();  // the input's 24
    Tensor d = Tensor::empty({1}, DType::F64);
    d.data<double>()[0] = world->rank() + 0.5;
    count.broadcast(d, 1);
    EXPECT_EQ(d.to_double_vector(), std::vector<double>{1.5});
    count.barrier();
    // A group of one moves nothing: forwarded, not counted.
    std::shared_ptr<Communicator> alone = count.split(world->rank(), 0);
    alone->all_reduce(t, ReduceOp::Sum);
    std::lock_guard<std::mutex> lock(mutex);
    world_tallies[world->rank()] = count.tally();
    split_tallies[world->rank()] = static_cast<CountingCommunicator&>(*alone).tally();
  });
  CommTally expected;
  expected.all_reduce = {2, 24};
  expected.all_gather = {1, 12};
  expected.reduce_scatter = {1, 24};
  expected.broadcast = {1, 8};
  expected.barriers = 1;
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(world_tallies[r], expected) << "rank " << r;
    EXPECT_EQ(split_tallies[r], CommTally{}) << "rank " << r;
  }
  EXPECT_EQ(expected.calls(), 6);
  EXPECT_EQ(expected.bytes(), 68);
  EXPECT_EQ(describe(expected),
            "all_reduce 2 calls 24 B, reduce_scatter 1 call 24 B, all_gather 1 call 12 B, "
            "broadcast 1 call 8 B, barrier 1");
}

}  // namespace
}  // namespace weft
