#pragma once
// Batches for a masked language model (encoder-only, BERT): LmLoader's random
// windows, each framed as [CLS] window [SEP], then corrupted by mlm_mask
// (mlm_masking.h) keyed by (seed, batch index, global sequence, position):
// the batch index counts micro-batches (step · grad_accum + micro-batch), so
// every layout of one run masks the same tokens. The loader masks the whole
// global micro-batch on every rank (a hash per token) and keeps its rows:
// each rank then knows the step's count of masked tokens, the loss's
// denominator, without a collective.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "weft/data/batch.h"
#include "weft/data/dataset.h"
#include "weft/data/loader.h"
#include "weft/data/mlm_masking.h"

namespace weft {

// Row r of batch k is LmLoader's row r of batch k with windows of seq_len − 2
// tokens (same seed, split and data-parallel rows), so positions 0 and
// seq_len − 1 hold [CLS] and [SEP]. Epochs, data parallelism and resume are
// LmLoader's. Refuses a dataset whose tokenizer lacks MLM specials, naming
// weft prepare --mlm-specials, a translation dataset and seq_len < 3.
class MlmLoader final : public BatchStream {
 public:
  MlmLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
            int64_t seq_len, uint64_t seed, int64_t dp_rank = 0, int64_t dp_size = 1);
  MlmLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
            int64_t seq_len, uint64_t seed, int64_t dp_rank = 0, int64_t dp_size = 1);

  // input (batch_size / dp_size, seq_len) i32: [CLS] window [SEP], corrupted;
  // target: the original id at the masked positions, kIgnoreIndex elsewhere.
  // counted and global_counted: masked tokens of this rank's rows and of the
  // global micro-batch. global_row, global_rows: this rank's rows in it.
  Batch next() override;

  // {"loader": "mlm", "split", "seed", "batch"}; restore refuses a state from
  // another kind of loader, split or seed, naming what differs.
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  // An epoch: as many window tokens ([CLS] and [SEP] aside) as the split holds.
  EpochPosition epoch_position() const override;
  int64_t batches_in_epochs(int64_t epochs) const override;

  int64_t batches_drawn() const { return windows_.batches_drawn(); }
  int64_t local_batch_size() const { return batch_size_ / dp_size_; }

 private:
  nlohmann::json identity() const;  // {"loader", "split", "seed"}

  LmLoader windows_;  // every rank's rows, seq_len − 2 tokens each
  std::string split_;
  int64_t batch_size_, seq_len_;
  uint64_t seed_;
  int64_t dp_rank_, dp_size_;
  int32_t cls_, sep_;
  MlmMasking masking_;
  Tensor framed_, input_, target_;  // the global micro-batch, reused
};

}  // namespace weft
