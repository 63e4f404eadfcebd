#include "weft/train/bucket_plan.h"

#include <algorithm>

#include "weft/tensor/error.h"

namespace weft {

ElementRange PlannedBucket::slice(int64_t rank, int64_t shards) const {
  const int64_t per = padded / shards;
  return {rank * per, (rank + 1) * per};
}

std::vector<PlannedBucket> plan_buckets(const std::vector<int64_t>& numels, int64_t element_bytes,
                                        int64_t bucket_bytes, int64_t shards) {
  WEFT_CHECK(bucket_bytes > 0, "train.bucket_mb must be positive");
  WEFT_CHECK(shards >= 1, "gradient buckets: shards must be >= 1, got ", shards);
  WEFT_CHECK(element_bytes >= 1, "gradient buckets: element size must be >= 1, got ",
             element_bytes);
  std::vector<PlannedBucket> plan;
  int64_t bytes = 0;
  for (int64_t i = static_cast<int64_t>(numels.size()) - 1; i >= 0; --i) {
    const int64_t b = numels[i] * element_bytes;
    if (plan.empty() || (bytes > 0 && bytes + b > bucket_bytes)) {
      plan.emplace_back();
      bytes = 0;
    }
    PlannedBucket& bucket = plan.back();
    bucket.params.push_back(i);
    bucket.offsets.push_back(bucket.elements);
    bucket.elements += numels[i];
    bytes += b;
  }
  const int64_t unit = shards == 1 ? 1 : shards * kShardAlignment;
  for (PlannedBucket& bucket : plan) bucket.padded = (bucket.elements + unit - 1) / unit * unit;
  return plan;
}

std::vector<ElementRange> owned_ranges(const std::vector<PlannedBucket>& plan,
                                       const std::vector<int64_t>& numels, int64_t rank,
                                       int64_t shards) {
  WEFT_CHECK(rank >= 0 && rank < shards, "gradient buckets: rank ", rank, " of ", shards);
  std::vector<ElementRange> out(numels.size());
  for (const PlannedBucket& bucket : plan) {
    const ElementRange mine = bucket.slice(rank, shards);
    for (size_t k = 0; k < bucket.params.size(); ++k) {
      const int64_t offset = bucket.offsets[k], n = numels[bucket.params[k]];
      const int64_t begin = std::max(offset, mine.begin), end = std::min(offset + n, mine.end);
      out[bucket.params[k]] = begin < end ? ElementRange{begin - offset, end - offset}
                                          : ElementRange{0, 0};
    }
  }
  return out;
}

}  // namespace weft
