#include "weft/backend/vocab_parallel_cross_entropy.h"

#include "backend/check.h"
#include "backend/dispatch.h"

namespace weft::ops {
namespace {

void check_logits_and_targets(const char* op, const Tensor& logits, const Tensor& targets,
                              int64_t vocab_offset) {
  detail::check_logits_and_targets(op, logits, targets, "(N,V_local)");
  WEFT_CHECK(vocab_offset >= 0, op, ": vocab_offset must be >= 0, got ", vocab_offset);
}

}  // namespace

void cross_entropy_shard_stats(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                               int64_t ignore_index, Tensor& stats) {
  const char* op = "cross_entropy_shard_stats";
  check_logits_and_targets(op, logits, targets, vocab_offset);
  detail::check_shape(op, "stats", stats, {logits.dim(0), 4});
  WEFT_CHECK(stats.dtype() == DType::F64, op, ": stats must be f64, got ", stats.describe());
  detail::check_device(op, "stats", stats, logits.device());
  WEFT_DISPATCH(logits.device(), cross_entropy_shard_stats, logits, targets, vocab_offset,
                ignore_index, stats);
}

void cross_entropy_shard_finish(const Tensor& logits, const Tensor& targets, int64_t vocab_offset,
                                int64_t vocab_size, int64_t ignore_index, double label_smoothing,
                                double grad_scale, const Tensor& all_stats, Tensor& losses,
                                Tensor& dlogits) {
  const char* op = "cross_entropy_shard_finish";
  check_logits_and_targets(op, logits, targets, vocab_offset);
  const int64_t n = logits.dim(0);
  WEFT_CHECK(vocab_offset + logits.dim(1) <= vocab_size, op, ": columns [", vocab_offset, ", ",
             vocab_offset + logits.dim(1), ") exceed the vocabulary of ", vocab_size);
  WEFT_CHECK(all_stats.defined() && all_stats.rank() == 3 && all_stats.dim(0) >= 1 &&
                 all_stats.dim(1) == n && all_stats.dim(2) == 4 && all_stats.dtype() == DType::F64,
             op, ": all_stats must be f64 (shards,", n, ",4), got ",
             all_stats.defined() ? all_stats.describe() : std::string("undefined"));
  detail::check_device(op, "all_stats", all_stats, logits.device());
  detail::check_loss_outputs(op, logits, losses, dlogits, label_smoothing);
  WEFT_DISPATCH(logits.device(), cross_entropy_shard_finish, logits, targets, vocab_offset,
                vocab_size, ignore_index, label_smoothing, grad_scale, all_stats, losses, dlogits);
}

}  // namespace weft::ops
