#pragma once
// Batches from a prepared dataset: the two BatchStreams a run draws from.
//
// Data parallelism: batch_size is the global batch; rank r of dp_size takes
// rows [r·B/dp, (r+1)·B/dp) of exactly the batch a single rank would see, so
// any layout trains on the same data. state()/restore() carry the position
// (the same on every rank), so a resumed run, under any layout, continues
// with exactly the next batch.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weft/data/batch.h"
#include "weft/data/dataset.h"
#include "weft/data/shard.h"

namespace weft {

// nanoGPT's random windows: row r of batch k starts at an offset o drawn from
// the counter-based generator keyed by (seed, split, k, r); input =
// tokens[o, o+T), target = tokens[o+1, o+T+1). Batch.source stays undefined.
class LmLoader final : public BatchStream {
 public:
  LmLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
           int64_t seq_len, uint64_t seed, int64_t dp_rank = 0, int64_t dp_size = 1);
  LmLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
           int64_t seq_len, uint64_t seed, int64_t dp_rank = 0, int64_t dp_size = 1);

  Batch next() override;  // input, target: i32 (batch_size / dp_size, seq_len)

  // {"loader": "lm", "split", "seed", "batch"}; restore refuses a state from
  // another kind of loader, split or seed, naming what differs.
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;

  int64_t batches_drawn() const { return batch_; }
  int64_t local_batch_size() const { return batch_size_ / dp_size_; }
  int64_t tokens() const { return shard_.size(); }
  // Start of global row `row` of batch `batch`.
  int64_t window_start(int64_t batch, int64_t row) const;

 private:
  TokenShard shard_;
  std::string split_;
  int64_t batch_size_, seq_len_;
  uint64_t seed_;
  int64_t dp_rank_, dp_size_;
  int64_t batch_ = 0;  // index of the next batch
};

// Sentence pairs, padded to the longest of the batch (per rank):
//   source (b,S) = src tokens + EOS,  then the source pad id
//   input  (b,T) = BOS + tgt tokens,  then the target pad id
//   target (b,T) = tgt tokens + EOS,  then kIgnoreIndex
// Batches walk an endless stream of epochs; each epoch is a permutation of
// the split's sentences, seeded by (seed, epoch) when shuffling (training)
// and the file order when not (evaluation). Every batch is full: the last
// one of an epoch continues into the next.
class TranslationLoader final : public BatchStream {
 public:
  // max_len bounds S and T (EOS/BOS included); 0: no bound. A longer
  // sentence throws weft::Error here, naming the split file, the sentence
  // number (from 1) and both lengths.
  TranslationLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
                    uint64_t seed, bool shuffle, int64_t max_len, int64_t dp_rank = 0,
                    int64_t dp_size = 1);
  TranslationLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
                    uint64_t seed, bool shuffle, int64_t max_len, int64_t dp_rank = 0,
                    int64_t dp_size = 1);

  Batch next() override;

  // {"loader": "translation", "split", "seed", "shuffle", "batch"}.
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;

  int64_t batches_drawn() const { return batch_; }
  int64_t local_batch_size() const { return batch_size_ / dp_size_; }
  int64_t sentences() const { return static_cast<int64_t>(source_starts_.size()) - 1; }
  // Batches that cover every sentence once: ceil(sentences / batch_size).
  int64_t batches_per_epoch() const;
  // Which sentence (file order, from 0) the stream's position `p` holds.
  int64_t sentence_at(int64_t p) const;

 private:
  TokenShard source_, target_;
  // Sentence i's tokens are [starts[i], starts[i+1] - 1), then its EOS.
  std::vector<int64_t> source_starts_, target_starts_;
  std::string split_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_;
  int64_t dp_rank_, dp_size_;
  int32_t source_pad_, target_pad_, bos_;
  int64_t batch_ = 0;
  mutable int64_t order_epoch_ = -1;  // epoch whose permutation order_ holds
  mutable std::vector<int64_t> order_;
};

}  // namespace weft
