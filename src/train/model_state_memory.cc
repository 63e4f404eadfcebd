#include "weft/train/model_state_memory.h"

#include <cstdio>
#include <numeric>

#include "weft/tensor/error.h"
#include "weft/train/bucket_plan.h"
#include "weft/train/comm_volume.h"

namespace weft {

double ModelStateBytes::per_parameter() const {
  return parameters > 0 ? static_cast<double>(total()) / static_cast<double>(parameters) : 0.0;
}

std::string ModelStateBytes::describe() const {
  const auto mib = [](int64_t b) { return static_cast<double>(b) / (1 << 20); };
  char line[256];
  std::snprintf(line, sizeof(line),
                "weights %.1f MiB, gradients %.1f MiB, optimizer %.1f MiB: %.1f MiB, %.2f "
                "B/parameter",
                mib(weights), mib(gradients), mib(optimizer), mib(total()), per_parameter());
  return line;
}

ModelStateBytes model_state_bytes(const ModelConfig& config, int64_t tp, int64_t dp, bool zero,
                                  DType dtype, int64_t bucket_bytes) {
  WEFT_CHECK(dtype == DType::F32 || dtype == DType::F64 || dtype == DType::BF16,
             "model state: weights are f32, f64 or bf16, not ", dtype_name(dtype));
  WEFT_CHECK(dp >= 1, "model state: dp must be >= 1, got ", dp);
  const std::vector<int64_t> numels = local_parameter_numels(config, tp);
  const int64_t e = static_cast<int64_t>(dtype_size(dtype));
  const int64_t g = static_cast<int64_t>(dtype_size(grad_dtype(dtype)));  // f32 for bf16
  ModelStateBytes b;
  b.parameters = std::accumulate(numels.begin(), numels.end(), int64_t{0});
  b.weights = b.parameters * e;
  b.gradients = b.parameters * g;
  int64_t owned = b.parameters;
  const bool sharded = zero && dp > 1;
  if (dp > 1) {
    // Buckets are planned over the gradients, and the values follow them.
    const std::vector<PlannedBucket> plan = plan_buckets(numels, g, bucket_bytes, sharded ? dp : 1);
    int64_t padded = 0;
    for (const PlannedBucket& bucket : plan) padded += bucket.padded;
    b.gradients = padded * g;
    if (sharded) {
      b.weights = padded * e;
      owned = 0;
      for (const ElementRange& r : owned_ranges(plan, numels, 0, dp)) owned += r.size();
    }
  }
  // Moments in the weights' dtype, or f32 with an f32 master for bf16.
  const int64_t state = dtype == DType::BF16 ? 3 * 4 : 2 * e;
  b.optimizer = owned * state;
  return b;
}

ModelStateBytes measure_model_state(const std::vector<Parameter*>& params, const AdamW& optimizer,
                                    const GradientBuckets* buckets) {
  ModelStateBytes b;
  for (const Parameter* p : params) {
    b.parameters += p->value.numel();
    b.weights += static_cast<int64_t>(p->value.nbytes());
    b.gradients += static_cast<int64_t>(p->grad.nbytes());
  }
  if (buckets != nullptr) {
    b.gradients = buckets->gradient_buffer_bytes();
    if (buckets->sharded()) b.weights = buckets->value_buffer_bytes();
  }
  b.optimizer = optimizer.state_bytes();
  return b;
}

}  // namespace weft
