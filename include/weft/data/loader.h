#pragma once
// Batches from a prepared dataset: the BatchStreams a run draws from (and
// MlmLoader, LmLoader's windows for a masked language model, in mlm_loader.h).
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
#include "weft/data/token_batches.h"

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
  // An epoch: as many windows' targets as the split holds tokens.
  EpochPosition epoch_position() const override;
  int64_t batches_in_epochs(int64_t epochs) const override;

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
// and the file order when not (evaluation). Two ways to cut it:
//   - max_tokens = 0: batch_size sentences per batch. Every batch is full:
//     the last one of an epoch continues into the next.
//   - max_tokens > 0: token-budget batches (token_batches.h), pairs of
//     similar length together; batch_size is not used. Each epoch ends with
//     its own last batch. Rank r of dp takes rows [r·k/dp, (r+1)·k/dp) of a
//     batch of k pairs, so shares may differ by one row.
class TranslationLoader final : public BatchStream {
 public:
  // max_len bounds S and T (EOS/BOS included); 0: no bound. A longer
  // sentence throws weft::Error here, naming the split file, the sentence
  // number (from 1) and both lengths.
  TranslationLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
                    uint64_t seed, bool shuffle, int64_t max_len, int64_t dp_rank = 0,
                    int64_t dp_size = 1, int64_t max_tokens = 0);
  TranslationLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
                    uint64_t seed, bool shuffle, int64_t max_len, int64_t dp_rank = 0,
                    int64_t dp_size = 1, int64_t max_tokens = 0);

  Batch next() override;

  // {"loader": "translation", "split", "seed", "shuffle", "batch"}, and with
  // token budgets "max_tokens", "epoch" and "position" (batch in the epoch)
  // in place of "batch".
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  EpochPosition epoch_position() const override;
  int64_t batches_in_epochs(int64_t epochs) const override;

  int64_t batches_drawn() const { return batch_; }
  int64_t local_batch_size() const { return batch_size_ / dp_size_; }
  int64_t sentences() const { return static_cast<int64_t>(source_starts_.size()) - 1; }
  // Batches that cover every sentence once: ceil(sentences / batch_size), or
  // the first epoch's token-budget batches.
  int64_t batches_per_epoch() const;
  // Which sentence (file order, from 0) the stream's position `p` holds
  // (batch_size batches).
  int64_t sentence_at(int64_t p) const;
  // The token-budget batches of `epoch` (max_tokens > 0).
  const TokenBatchPlan& plan(int64_t epoch) const;

 private:
  // {"loader", "split", "seed", "shuffle"} and "max_tokens" with token budgets.
  nlohmann::json identity() const;
  // The epoch's sentence order: its permutation, or the file order.
  const std::vector<int64_t>& order(int64_t epoch) const;
  // This rank's rows, sentences `picked`, as a batch.
  Batch make_batch(const std::vector<int64_t>& picked) const;
  Batch next_token_batch();
  int64_t target_positions(int64_t sentence) const {
    return target_starts_[sentence + 1] - target_starts_[sentence];
  }

  TokenShard source_, target_;
  // Sentence i's tokens are [starts[i], starts[i+1] - 1), then its EOS.
  std::vector<int64_t> source_starts_, target_starts_;
  std::string split_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_;
  int64_t dp_rank_, dp_size_;
  int64_t max_tokens_;
  int32_t source_pad_, target_pad_, bos_;
  int64_t batch_ = 0;     // batches drawn
  int64_t epoch_ = 0;     // token budgets: the epoch and batch the next one comes from
  int64_t position_ = 0;
  mutable int64_t order_epoch_ = -1;  // epoch whose permutation order_ holds
  mutable std::vector<int64_t> order_;
  mutable int64_t plan_epoch_ = -1;   // epoch whose batches plan_ holds
  mutable TokenBatchPlan plan_;
  std::vector<int64_t> source_lengths_, target_lengths_;  // positions per sentence
};

}  // namespace weft
