#pragma once
// How parameters are grouped into data-parallel gradient buckets, as a pure
// function of their sizes: GradientBuckets builds its buffers from it, the
// distributed optimizer (ZeRO-1) derives each rank's slice of every bucket
// from it, and the communication-volume formula counts its collectives.
//
// Parameters go in reverse construction order (the output end of the model
// finishes backward first); a bucket is closed before the next gradient would
// take a non-empty one past bucket_bytes. Sharded over `shards` ranks, each
// bucket is padded to a multiple of shards × kShardAlignment elements, so
// every rank's slice is equal and starts aligned; rank r owns elements
// [r·padded/shards, (r+1)·padded/shards) of every bucket.

#include <cstdint>
#include <vector>

namespace weft {

// Elements: a slice of f32 starts on a 256-byte boundary.
inline constexpr int64_t kShardAlignment = 64;

// [begin, end) of a parameter's elements (its value flattened, row-major).
struct ElementRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
  bool operator==(const ElementRange& o) const { return begin == o.begin && end == o.end; }
};

struct PlannedBucket {
  std::vector<int64_t> params;   // indices into the parameter list, in bucket order
  std::vector<int64_t> offsets;  // element offset of each in the bucket's buffer
  int64_t elements = 0;          // Σ numel of its parameters
  int64_t padded = 0;            // elements rounded up for sharding (= elements unsharded)
  // Rank r's slice of the buffer.
  ElementRange slice(int64_t rank, int64_t shards) const;
};

// shards = 1: no padding (plain data parallelism). Throws weft::Error for a
// non-positive bucket size or shard count.
std::vector<PlannedBucket> plan_buckets(const std::vector<int64_t>& numels, int64_t element_bytes,
                                        int64_t bucket_bytes, int64_t shards = 1);

// What rank `rank` of `shards` owns of each parameter (possibly nothing):
// the intersection of its slice of the parameter's bucket with the parameter.
std::vector<ElementRange> owned_ranges(const std::vector<PlannedBucket>& plan,
                                       const std::vector<int64_t>& numels, int64_t rank,
                                       int64_t shards);

}  // namespace weft
