#include "train/parallel_testing.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"
#include "weft/comm/simulated.h"
#include "weft/train/adamw.h"
#include "weft/train/schedule.h"
#include "weft/train/trainer.h"

namespace weft::testing {

namespace {

// Cuts the columns after the last one that holds a real token in any row:
// target positions that count, source tokens that are not padding (id 0),
// and for a bidirectional encoder (which reads every input, before or after
// a counted target) input tokens that are not `pad`.
void trim_padding(Batch& b, bool bidirectional, int32_t pad) {
  const auto last_used = [](const Tensor& t, auto used) {
    const int64_t rows = t.dim(0), cols = t.dim(1);
    int64_t length = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        if (used(t.data<int32_t>()[r * cols + c])) length = std::max(length, c + 1);
      }
    }
    return length;
  };
  const auto first_columns = [](const Tensor& t, int64_t n) {
    const int64_t rows = t.dim(0), cols = t.dim(1);
    Tensor out = Tensor::empty({rows, n}, DType::I32);
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(t.data<int32_t>() + r * cols, n, out.data<int32_t>() + r * n);
    }
    return out;
  };
  int64_t target_len = last_used(b.target, [](int32_t id) { return id != kIgnoreIndex; });
  if (bidirectional) {
    target_len = std::max(target_len, last_used(b.input, [&](int32_t id) { return id != pad; }));
  }
  b.input = first_columns(b.input, target_len);
  b.target = first_columns(b.target, target_len);
  if (b.source.defined()) {
    b.source = first_columns(b.source, last_used(b.source, [](int32_t id) { return id != 0; }));
  }
}

// Global micro-batch k of the run: a pure function of k, so every rank and
// the single-rank run see the same data.
Batch global_micro_batch(const RunSpec& spec, int64_t k) {
  const int64_t B = spec.micro_batch_rows, T = spec.seq_len;
  const int32_t V = static_cast<int32_t>(spec.config.vocab_size);
  const uint64_t seed = 1000 + 10 * static_cast<uint64_t>(k);
  Batch b;
  b.input = random_ids({B, T}, V, seed);
  b.target = random_ids({B, T}, V, seed + 1);
  int32_t* target = b.target.data<int32_t>();
  target[(k % B) * T + (k % T)] = kIgnoreIndex;
  if (spec.config.encoder_only()) {
    // A masked LM's loss reads a share of the positions.
    for (int64_t i = 0; i < B * T; ++i) {
      if ((i + k) % 3 != 0) target[i] = kIgnoreIndex;
    }
  }
  if (spec.config.architecture == Architecture::EncoderDecoder) {
    b.source = random_ids({B, T + 1}, V - 1, seed + 2);
    int32_t* source = b.source.data<int32_t>();
    for (int64_t i = 0; i < b.source.numel(); ++i) source[i] += 1;  // 0 is padding
    source[(k % B) * (T + 1) + T] = 0;
  }
  if (spec.varied_lengths) {
    // Row r holds a sentence of 2..T target and 2..T+1 source tokens; the
    // rest is padding. Row 0 is never the longest, so trimming always cuts.
    int32_t* input = b.input.data<int32_t>();
    int32_t* source = b.source.defined() ? b.source.data<int32_t>() : nullptr;
    const int32_t pad = std::max<int32_t>(spec.config.pad_id, 0);
    for (int64_t r = 0; r < B; ++r) {
      const int64_t length = r == 0 ? 2 : 2 + (r * 5 + k * 3) % (T - 1);
      for (int64_t t = length; t < T; ++t) input[r * T + t] = pad, target[r * T + t] = kIgnoreIndex;
      if (source == nullptr) continue;
      const int64_t source_length = 2 + (r * 7 + k) % T;
      for (int64_t t = source_length; t < T + 1; ++t) source[r * (T + 1) + t] = 0;
    }
  }
  return b;
}

Tensor rows_of(const Tensor& t, int64_t begin, int64_t end) {
  return t.defined() ? t.rows(begin, end).clone() : Tensor();
}

// This data-parallel rank's rows of each global micro-batch, in order.
class RankBatches final : public BatchStream {
 public:
  nlohmann::json state() const override { return {{"position", next_}}; }
  void restore(const nlohmann::json& state) override { next_ = state.at("position"); }
  RankBatches(const RunSpec& spec, int dp_rank, int dp) : spec_(spec), dp_rank_(dp_rank), dp_(dp) {}
  Batch next() override {
    const Batch global = global_micro_batch(spec_, next_++);
    const int64_t rows = spec_.micro_batch_rows / dp_;
    const int64_t begin = dp_rank_ * rows, end = begin + rows;
    Batch mine;
    mine.source = rows_of(global.source, begin, end);
    mine.input = rows_of(global.input, begin, end);
    mine.target = rows_of(global.target, begin, end);
    if (spec_.varied_lengths) {
      trim_padding(mine, spec_.config.encoder_only(), spec_.config.pad_id);
    }
    mine.global_counted = count_targets(global.target);  // as the loaders know it
    return mine;
  }

 private:
  RunSpec spec_;
  int dp_rank_, dp_;
  int64_t next_ = 0;
};

struct Shard {
  Shape full_shape;
  int shard_dim;
  int64_t shard_offset;
  Tensor value;  // f64
  int64_t padded_rows;  // vocabulary padding, which depends on tp
};

// The rows of the real vocabulary: layouts pad it to different sizes.
Tensor real_rows(const Tensor& full, int64_t padded_rows) {
  return padded_rows == 0 ? full : full.rows(0, full.dim(0) - padded_rows).clone();
}

struct RankResult {
  std::vector<double> losses;
  int64_t buckets = 0;
  std::vector<int64_t> overlapped_gathers;
  std::map<std::string, Shard> shards;
};

RankResult train_rank(const RunSpec& spec, const ProcessGroups& groups) {
  LayerContext ctx;
  ctx.dtype = spec.dtype;
  ctx.tp = groups.tp;
  ctx.sequence_parallel = spec.sequence_parallel;
  auto model = make_model(spec.config, ctx);
  initialize_parameters(model->parameters(), 42);
  ConstantSchedule schedule(3e-3);
  TrainerOptions options;
  options.grad_accum = spec.grad_accum;
  options.grad_clip = 1.0;
  options.seed = 7;
  options.buckets.bucket_bytes = 4096;  // many buckets, so backward overlaps several
  options.buckets.overlap = spec.overlap;
  options.recompute = spec.recompute;
  const bool zero = spec.zero == 1 && groups.dp_size() > 1;
  AdamW optimizer(model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1},
                  zero ? zero_owned_ranges(model->parameters(), groups.dp_rank(),
                                           groups.dp_size(), options.buckets)
                       : std::vector<ElementRange>{});
  Trainer trainer(*model, optimizer, schedule, options, groups);
  RankBatches data(spec, groups.dp_rank(), groups.dp_size());

  RankResult result;
  for (int64_t s = 0; s < spec.steps; ++s) {
    const StepStats stats = trainer.train_step(data);
    result.losses.push_back(stats.loss);
    result.overlapped_gathers.push_back(stats.overlapped_gathers);
  }
  trainer.wait_for_parameters();
  if (trainer.buckets()) result.buckets = trainer.buckets()->bucket_count();
  for (Parameter* p : model->parameters()) {
    Tensor value = Tensor::empty(p->value.shape(), DType::F64);
    const std::vector<double> v = p->value.to_double_vector();
    std::copy(v.begin(), v.end(), value.data<double>());
    result.shards[p->name] =
        Shard{p->full_shape, p->shard_dim, p->shard_offset, value, p->padded_rows};
  }
  return result;
}

// Writes (or, with `check`, compares) a shard into its full tensor.
bool place_shard(const Shard& shard, Tensor& full, bool check) {
  const Shape& local = shard.value.shape();
  int64_t inner = 1;
  const int dim = shard.shard_dim < 0 ? 0 : shard.shard_dim;
  for (size_t d = dim + 1; d < local.size(); ++d) inner *= local[d];
  const int64_t local_dim = local[dim], full_dim = shard.full_shape[dim];
  const int64_t offset = shard.shard_dim < 0 ? 0 : shard.shard_offset;
  const double* src = shard.value.data<double>();
  double* dst = full.data<double>();
  bool same = true;
  for (int64_t i = 0; i < shard.value.numel(); ++i) {
    const int64_t outer = i / (inner * local_dim), mid = (i / inner) % local_dim, in = i % inner;
    const int64_t j = (outer * full_dim + offset + mid) * inner + in;
    if (check) {
      same = same && dst[j] == src[i];
    } else {
      dst[j] = src[i];
    }
  }
  return same;
}

}  // namespace

RunResult train_single_rank(const RunSpec& spec) {
  RankResult r = train_rank(spec, single_rank_groups());
  RunResult result;
  result.losses = r.losses;
  for (auto& [name, shard] : r.shards) {
    result.weights[name] = real_rows(shard.value, shard.padded_rows);
  }
  return result;
}

RunResult train_simulated(const RunSpec& spec, int dp, int tp) {
  std::mutex mutex;
  std::vector<RankResult> ranks(static_cast<size_t>(dp * tp));
  std::vector<int> dp_rank_of(ranks.size());
  run_simulated_ranks(dp * tp, [&](std::shared_ptr<Communicator> world) {
    const ProcessGroups groups = make_process_groups(world, tp);
    RankResult r = train_rank(spec, groups);
    std::lock_guard<std::mutex> lock(mutex);
    ranks[world->rank()] = std::move(r);
    dp_rank_of[world->rank()] = groups.dp_rank();
  });

  RunResult result;
  result.losses = ranks[0].losses;
  for (const RankResult& rank : ranks) {
    result.bucket_counts.push_back(rank.buckets);
    result.overlapped_gathers.push_back(rank.overlapped_gathers);
  }
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(ranks[r].losses, ranks[0].losses) << "rank " << r << " reports other losses";
  }
  // Replica 0's shards make the full tensors; every other replica must hold
  // exactly the same values.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t r = 0; r < ranks.size(); ++r) {
      if ((dp_rank_of[r] == 0) != (pass == 0)) continue;
      for (const auto& [name, shard] : ranks[r].shards) {
        Tensor& full = result.weights[name];
        if (!full.defined()) full = Tensor::zeros(shard.full_shape, DType::F64);
        EXPECT_TRUE(place_shard(shard, full, pass == 1))
            << name << ": rank " << r << " (a data-parallel replica) differs from replica 0";
      }
    }
  }
  for (auto& [name, full] : result.weights) {
    full = real_rows(full, ranks[0].shards.at(name).padded_rows);
  }
  return result;
}

bool has_zero_true_gradient(const std::string& name) {
  const std::string suffix = ".k.bias";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

::testing::AssertionResult close_in_norm(const Tensor& actual, const Tensor& expected, double rel,
                                         double abs) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << actual.describe() << " vs "
                                         << expected.describe();
  }
  const std::vector<double> a = actual.to_double_vector(), e = expected.to_double_vector();
  double diff2 = 0.0, norm2 = 0.0, worst = 0.0;
  int64_t worst_at = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const double d = a[i] - e[i];
    diff2 += d * d;
    norm2 += e[i] * e[i];
    if (!(std::abs(d) <= worst)) worst = std::abs(d), worst_at = static_cast<int64_t>(i);
  }
  const double diff = std::sqrt(diff2), norm = std::sqrt(norm2);
  if (diff <= rel * norm + abs) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "|actual - expected| = " << diff << " exceeds " << rel << " x |expected| (" << norm
         << ") + " << abs << "; the largest difference is at element " << worst_at << ": "
         << a[worst_at] << " vs " << e[worst_at];
}

}  // namespace weft::testing
