#pragma once
// Dropout keyed by where it sits in the model (a hash of its name), by the
// step, and by each element's global sentence, position and feature, so a
// mask is the same under any parallel layout and any padding of the batch.

#include <string>

#include "weft/backend/dropout.h"
#include "weft/model/parameter.h"

namespace weft {

class Dropout {
 public:
  // Positions each sentence owns in the masks' index space: the longest
  // context ModelConfig accepts.
  static constexpr int64_t kMaxPositions = int64_t{1} << 20;

  Dropout(const std::string& name, double p);

  bool active(const StepContext& ctx) const { return ctx.training && p_ > 0.0; }
  // x (B,T,C...) in place. `seq` is T, to place this micro-batch's rows in the
  // global batch; `global_cols`/`col_offset` locate a tensor-parallel shard.
  // Under ctx.sequence_shard, x holds that shard's rows of (B·T, C).
  void forward(Tensor& x, const StepContext& ctx, int64_t seq, int64_t global_cols = 0,
               int64_t col_offset = 0) const;
  // dx in place, with the mask of the matching forward.
  void backward(Tensor& dx, const StepContext& ctx, int64_t seq, int64_t global_cols = 0,
                int64_t col_offset = 0) const;

 private:
  ops::DropoutSite site(const StepContext& ctx, int64_t seq, int64_t global_cols,
                        int64_t col_offset) const;
  uint64_t site_id_;
  double p_;
};

}  // namespace weft
