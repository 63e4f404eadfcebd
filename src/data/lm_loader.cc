#include <cmath>

#include "data/loader_common.h"
#include "weft/tensor/counter_rng.h"
#include "weft/data/loader.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

TokenShard open_lm_split(const DatasetInfo& dataset, const std::string& split) {
  WEFT_CHECK(!dataset.is_translation(), "LmLoader: ", dataset.dir,
             " is a translation dataset; use TranslationLoader");
  return TokenShard(dataset.shard_path(split), *dataset.tokenizer);
}

}  // namespace

LmLoader::LmLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
                   int64_t seq_len, uint64_t seed, int64_t dp_rank, int64_t dp_size)
    : shard_(open_lm_split(dataset, split)),
      split_(split),
      batch_size_(batch_size),
      seq_len_(seq_len),
      seed_(seed),
      dp_rank_(dp_rank),
      dp_size_(dp_size) {
  data::check_data_parallel("LmLoader", batch_size, dp_rank, dp_size);
  WEFT_CHECK(seq_len > 0, "LmLoader: sequence length must be positive, got ", seq_len);
  WEFT_CHECK(shard_.size() > seq_len, shard_.path(), ": ", shard_.size(),
             " tokens are too few for one window of ", seq_len,
             " tokens plus its next token; use a shorter sequence or more text");
}

LmLoader::LmLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
                   int64_t seq_len, uint64_t seed, int64_t dp_rank, int64_t dp_size)
    : LmLoader(read_dataset(dataset_dir), split, batch_size, seq_len, seed, dp_rank, dp_size) {}

int64_t LmLoader::window_start(int64_t batch, int64_t row) const {
  // The split is part of the key, so val windows are not train's.
  const uint64_t key = rng::stream_key(seed_ ^ rng::hash_name(split_.c_str()),
                                       static_cast<uint64_t>(batch), static_cast<uint64_t>(row));
  const auto starts = static_cast<uint64_t>(shard_.size() - seq_len_);  // o + T + 1 <= size
  return static_cast<int64_t>(data::below(rng::mix64(key), starts));
}

Batch LmLoader::next() {
  const int64_t rows = local_batch_size();
  std::vector<int32_t> input(rows * seq_len_), target(rows * seq_len_);
  std::vector<int32_t> window(seq_len_ + 1);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t start = window_start(batch_, dp_rank_ * rows + r);
    shard_.read(start, seq_len_ + 1, window.data());
    std::copy(window.begin(), window.end() - 1, input.begin() + r * seq_len_);
    std::copy(window.begin() + 1, window.end(), target.begin() + r * seq_len_);
  }
  ++batch_;
  Batch batch;
  batch.input = Tensor::from_vector(input, {rows, seq_len_});
  batch.target = Tensor::from_vector(target, {rows, seq_len_});
  batch.counted = rows * seq_len_;  // every position of a window carries loss
  batch.global_counted = batch_size_ * seq_len_;
  return batch;
}

nlohmann::json LmLoader::state() const {
  return {{"loader", "lm"}, {"split", split_}, {"seed", seed_}, {"batch", batch_}};
}

void LmLoader::restore(const nlohmann::json& state) {
  batch_ = data::restored_batch(state, {{"loader", "lm"}, {"split", split_}, {"seed", seed_}});
}

// An epoch of random windows: as many target tokens as the split holds.
EpochPosition LmLoader::epoch_position() const {
  const double per_epoch = static_cast<double>(tokens()) /
                           static_cast<double>(batch_size_ * seq_len_);
  EpochPosition at;
  at.epochs_done = static_cast<double>(batch_) / per_epoch;
  at.epoch = static_cast<int64_t>(at.epochs_done);
  at.batches = static_cast<int64_t>(std::ceil(per_epoch));
  return at;
}

int64_t LmLoader::batches_in_epochs(int64_t epochs) const {
  WEFT_CHECK(epochs >= 0, "train.epochs must be >= 0, got ", epochs);
  const int64_t per_batch = batch_size_ * seq_len_;
  return (epochs * tokens() + per_batch - 1) / per_batch;
}

}  // namespace weft
