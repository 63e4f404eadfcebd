// Vocabulary-parallel softmax cross-entropy on the GPU against the CPU in
// f64 (the cases: cross_entropy_gpu_testing.h): uneven shards with offsets,
// each shard's statistics, and every shard finishing from all of them with
// dlogits written, aliasing the logits, or not asked for.

#include <gtest/gtest.h>

#include "cross_entropy_gpu_testing.h"
#include "weft/backend/vocab_parallel_cross_entropy.h"

namespace weft::testing {
namespace {

// Columns [begin, end) of a host (N,V) tensor.
Tensor columns(const Tensor& full, int64_t begin, int64_t end) {
  const int64_t n = full.dim(0), v = full.dim(1);
  Tensor out = Tensor::empty({n, end - begin}, DType::F32);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t j = begin; j < end; ++j) {
      out.data<float>()[r * (end - begin) + j - begin] = full.data<float>()[r * v + j];
    }
  }
  return out;
}

// Column j of stats (N,4) as its own tensor, so each statistic is judged
// against its own scale.
Tensor stat_column(const Tensor& stats, int j) {
  const std::vector<double> v = stats.to_double_vector();
  Tensor out = Tensor::empty({stats.dim(0)}, DType::F64);
  for (int64_t r = 0; r < stats.dim(0); ++r) out.data<double>()[r] = v[r * 4 + j];
  return out;
}

class VocabParallelCrossEntropyGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(VocabParallelCrossEntropyGpu);

TEST_P(VocabParallelCrossEntropyGpu, ShardStatsAndFinish) {
  static const char* const kStatNames[4] = {"stats max", "stats sum of exp", "stats target logit",
                                            "stats sum of logits"};
  Seeds seeds;
  for (const LossCase& c : loss_cases()) {
    // Three uneven shards (one for a vocabulary too small to split).
    std::vector<int64_t> bounds = {0, c.vocab / 3, c.vocab / 3 + (c.vocab + 1) / 3, c.vocab};
    if (c.vocab < 100) bounds = {0, 30, c.vocab};
    const int64_t shards = static_cast<int64_t>(bounds.size()) - 1;
    const Tensor full = random_tensor({c.n, c.vocab}, DType::F32, seeds.next(), -c.logit_range,
                                      c.logit_range);
    const Operand targets = ids_operand(targets_for(c, seeds.next()));
    std::vector<Operand> logits;
    Tensor all_stats = Tensor::empty({shards, c.n, 4}, DType::F64);
    for (int64_t k = 0; k < shards; ++k) {
      SCOPED_TRACE(case_str(c) + detail::concat(", shard [", bounds[k], ", ", bounds[k + 1], ")"));
      logits.push_back(operand_of(columns(full, bounds[k], bounds[k + 1]), dtype()));
      Tensor stats_ref = all_stats.rows(k, k + 1).view({c.n, 4});
      ops::cross_entropy_shard_stats(logits[k].ref, targets.ref, bounds[k], c.ignore_index,
                                     stats_ref);
      Tensor stats = poisoned({c.n, 4}, DType::F64);
      ops::cross_entropy_shard_stats(logits[k].gpu, targets.gpu, bounds[k], c.ignore_index, stats);
      for (int j = 0; j < 4; ++j) {
        EXPECT_TRUE(close_to_cpu("cross_entropy_shard_stats", kStatNames[j], stat_column(stats, j),
                                 stat_column(stats_ref, j), budget()));
      }
    }
    // Every shard finishes from the reference statistics of all of them.
    const Tensor all_stats_gpu = all_stats.to(Device::CUDA);
    for (int64_t k = 0; k < shards; ++k) {
      for (Grad grad : {Grad::Written, Grad::AliasingLogits, Grad::None}) {
        SCOPED_TRACE(case_str(c) + detail::concat(", shard [", bounds[k], ", ", bounds[k + 1],
                                                  "), ", grad_name(grad)));
        const Shape shape = logits[k].ref.shape();
        Tensor losses_ref = Tensor::zeros({c.n}, DType::F64);
        Tensor dlogits_ref = grad == Grad::None ? Tensor() : Tensor::zeros(shape, DType::F64);
        ops::cross_entropy_shard_finish(logits[k].ref, targets.ref, bounds[k], c.vocab,
                                        c.ignore_index, c.smoothing, c.grad_scale, all_stats,
                                        losses_ref, dlogits_ref);
        Tensor logits_gpu = grad == Grad::AliasingLogits ? logits[k].gpu.clone() : logits[k].gpu;
        Tensor losses = poisoned({c.n}, dtype());
        Tensor dlogits = grad == Grad::Written          ? poisoned(shape, dtype())
                         : grad == Grad::AliasingLogits ? logits_gpu
                                                        : Tensor();
        ops::cross_entropy_shard_finish(logits_gpu, targets.gpu, bounds[k], c.vocab,
                                        c.ignore_index, c.smoothing, c.grad_scale, all_stats_gpu,
                                        losses, dlogits);
        EXPECT_TRUE(close_to_cpu("cross_entropy_shard_finish", "losses", losses, losses_ref,
                                 budget()));
        if (grad != Grad::None) {
          EXPECT_TRUE(close_to_cpu("cross_entropy_shard_finish", "dlogits", dlogits, dlogits_ref,
                                   budget()));
        }
      }
    }
  }
}

}  // namespace
}  // namespace weft::testing
