#pragma once
// What the data layer hands the model: a batch of token ids, and the stream
// of batches a run draws from. Loaders (data/loader.h) implement BatchStream;
// the trainer and the models only read Batch.

#include <cstdint>
#include <nlohmann/json.hpp>

#include "weft/tensor/tensor.h"

namespace weft {

// A target equal to this carries no loss (padding, masked positions).
inline constexpr int32_t kIgnoreIndex = -1;

// Targets of (B,T) i32 `target` that carry loss, read on the host.
int64_t count_targets(const Tensor& target);

// Token ids, i32. Padding in `source` and `input` uses the model config's
// pad_id; targets equal to kIgnoreIndex carry no loss.
struct Batch {
  Tensor source;  // (B,S) encoder input; encoder-decoder only
  Tensor input;   // (B,T) decoder input
  Tensor target;  // (B,T) next tokens
  // Targets that carry loss. The step's loss is a mean over every counted
  // target of the global batch, so the count is needed before any backward:
  // loaders set it as they build the batch; -1 (a batch made by hand) has
  // counted_targets() count it on first use.
  mutable int64_t counted = -1;
  // Counted targets of the whole global batch (every data-parallel rank's
  // rows), when the loader knows them; -1 otherwise. Every rank then knows
  // the step's token count without a collective ahead of the forward pass,
  // which would wait for ZeRO-1's parameter gathers still in flight.
  int64_t global_counted = -1;
  // Where this rank's rows sit in the global micro-batch (every data-parallel
  // rank's rows side by side): the global index of its first row, and the
  // global micro-batch's rows. -1 (a batch made by hand, or equal shares):
  // dp_rank · rows and dp · rows. Token-budget batches split unevenly.
  int64_t global_row = -1;
  int64_t global_rows = -1;

  int64_t counted_targets() const {
    if (counted < 0) counted = count_targets(target);
    return counted;
  }
};

// Where a stream stands in its passes over the data.
struct EpochPosition {
  int64_t epoch = 0;            // the epoch the next batch comes from, from 0
  double epochs_done = 0.0;     // epochs drawn so far, fractional
  int64_t batches = 0;          // batches in that epoch
  double padding_share = -1.0;  // of that epoch's batch positions; -1: not known
};

// Micro-batches in order, with a position that can be saved and restored so
// that a resumed run continues with exactly the next batch.
class BatchStream {
 public:
  virtual ~BatchStream() = default;
  virtual Batch next() = 0;
  // The position, as JSON for the checkpoint manifest.
  virtual nlohmann::json state() const = 0;
  // Refuses (weft::Error) a state from another kind of stream, naming what differs.
  virtual void restore(const nlohmann::json& state) = 0;
  // Streams over a dataset say where they stand; others report epoch 0 of
  // an unknown number of batches (batches = 0).
  virtual EpochPosition epoch_position() const { return {}; }
  // Batches that make up the first `epochs` epochs (train.epochs); streams
  // without epochs refuse.
  virtual int64_t batches_in_epochs(int64_t epochs) const;
};

}  // namespace weft
