#include <algorithm>
#include <numeric>

#include "data/loader_common.h"
#include "weft/tensor/counter_rng.h"
#include "weft/data/loader.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

TokenShard open_side(const DatasetInfo& dataset, const std::string& split, const char* side,
                     const Tokenizer& tokenizer) {
  WEFT_CHECK(dataset.is_translation(), "TranslationLoader: ", dataset.dir,
             " is a language-model dataset; use LmLoader");
  return TokenShard(dataset.shard_path(split, side), tokenizer);
}

// Where each sentence starts, found from the EOS that ends each one; the last
// entry is the shard's size.
std::vector<int64_t> sentence_starts(const TokenShard& shard, int32_t eos) {
  std::vector<int64_t> starts = {0};
  for (int64_t i = 0; i < shard.size(); ++i) {
    if (shard[i] == eos) starts.push_back(i + 1);
  }
  WEFT_CHECK(starts.back() == shard.size(), shard.path(), ": the last ",
             shard.size() - starts.back(), " tokens are not ended by EOS (", eos,
             "); the shard is not a translation split or was cut short");
  return starts;
}

// Refuses the first sentence whose length with BOS/EOS exceeds max_len.
void check_lengths(const TokenShard& shard, const std::vector<int64_t>& starts, int64_t max_len) {
  if (max_len <= 0) return;
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    const int64_t tokens = starts[i + 1] - starts[i] - 1;
    WEFT_CHECK(tokens + 1 <= max_len, shard.path(), ": sentence ", i + 1, " has ", tokens,
               " tokens (", tokens + 1, " with EOS/BOS), longer than max_len ", max_len,
               "; raise the model's max_seq_len or drop long sentences before preparing");
  }
}

}  // namespace

TranslationLoader::TranslationLoader(const DatasetInfo& dataset, const std::string& split,
                                     int64_t batch_size, uint64_t seed, bool shuffle,
                                     int64_t max_len, int64_t dp_rank, int64_t dp_size)
    : source_(open_side(dataset, split, "src", *dataset.source_tokenizer)),
      target_(open_side(dataset, split, "tgt", *dataset.tokenizer)),
      split_(split),
      batch_size_(batch_size),
      seed_(seed),
      shuffle_(shuffle),
      dp_rank_(dp_rank),
      dp_size_(dp_size),
      source_pad_(dataset.source_tokenizer->pad_id()),
      target_pad_(dataset.tokenizer->pad_id()),
      bos_(dataset.tokenizer->bos_id()) {
  data::check_data_parallel("TranslationLoader", batch_size, dp_rank, dp_size);
  WEFT_CHECK(dataset.source_tokenizer->has_specials() && dataset.tokenizer->has_specials(),
             dataset.dir, ": a translation dataset's tokenizers need pad, bos and eos ids");
  source_starts_ = sentence_starts(source_, dataset.source_tokenizer->eos_id());
  target_starts_ = sentence_starts(target_, dataset.tokenizer->eos_id());
  WEFT_CHECK(source_starts_.size() == target_starts_.size(), source_.path(), " holds ",
             source_starts_.size() - 1, " sentences but ", target_.path(), " holds ",
             target_starts_.size() - 1, "; prepare the dataset again");
  WEFT_CHECK(sentences() > 0, source_.path(), ": the split holds no sentence");
  check_lengths(source_, source_starts_, max_len);
  check_lengths(target_, target_starts_, max_len);
}

TranslationLoader::TranslationLoader(const std::string& dataset_dir, const std::string& split,
                                     int64_t batch_size, uint64_t seed, bool shuffle,
                                     int64_t max_len, int64_t dp_rank, int64_t dp_size)
    : TranslationLoader(read_dataset(dataset_dir), split, batch_size, seed, shuffle, max_len,
                        dp_rank, dp_size) {}

int64_t TranslationLoader::batches_per_epoch() const {
  return (sentences() + batch_size_ - 1) / batch_size_;
}

int64_t TranslationLoader::sentence_at(int64_t p) const {
  const int64_t n = sentences();
  if (!shuffle_) return p % n;
  const int64_t epoch = p / n;
  if (epoch != order_epoch_) {
    // Fisher–Yates driven by the counter-based generator keyed by (seed, epoch).
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), int64_t{0});
    const uint64_t key =
        rng::stream_key(seed_, rng::hash_name(split_.c_str()), static_cast<uint64_t>(epoch));
    for (int64_t i = n - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(data::below(
          rng::mix64(key ^ rng::mix64(static_cast<uint64_t>(i))), static_cast<uint64_t>(i + 1)));
      std::swap(order_[i], order_[j]);
    }
    order_epoch_ = epoch;
  }
  return order_[p % n];
}

Batch TranslationLoader::next() {
  const int64_t rows = local_batch_size();
  std::vector<int64_t> picked(rows);
  int64_t source_len = 0, target_len = 0;  // longest, with EOS (source) or BOS (target)
  for (int64_t r = 0; r < rows; ++r) {
    picked[r] = sentence_at(batch_ * batch_size_ + dp_rank_ * rows + r);
    source_len = std::max(source_len, source_starts_[picked[r] + 1] - source_starts_[picked[r]]);
    target_len = std::max(target_len, target_starts_[picked[r] + 1] - target_starts_[picked[r]]);
  }
  std::vector<int32_t> source(rows * source_len, source_pad_);
  std::vector<int32_t> input(rows * target_len, target_pad_);
  std::vector<int32_t> target(rows * target_len, kIgnoreIndex);
  int64_t counted = 0;  // each sentence's tokens and its EOS carry loss
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t s = picked[r];
    // Both shards store each sentence with its EOS, which source and target keep.
    const int64_t n_source = source_starts_[s + 1] - source_starts_[s];
    source_.read(source_starts_[s], n_source, source.data() + r * source_len);
    const int64_t n_target = target_starts_[s + 1] - target_starts_[s];
    counted += n_target;
    int32_t* target_row = target.data() + r * target_len;
    target_.read(target_starts_[s], n_target, target_row);
    int32_t* input_row = input.data() + r * target_len;
    input_row[0] = bos_;
    std::copy(target_row, target_row + n_target - 1, input_row + 1);
  }
  // Every rank's rows: the targets of the global batch.
  int64_t global_counted = 0;
  for (int64_t g = 0; g < batch_size_; ++g) {
    const int64_t s = sentence_at(batch_ * batch_size_ + g);
    global_counted += target_starts_[s + 1] - target_starts_[s];
  }
  ++batch_;
  Batch batch;
  batch.source = Tensor::from_vector(source, {rows, source_len});
  batch.input = Tensor::from_vector(input, {rows, target_len});
  batch.target = Tensor::from_vector(target, {rows, target_len});
  batch.counted = counted;
  batch.global_counted = global_counted;
  return batch;
}

nlohmann::json TranslationLoader::state() const {
  return {{"loader", "translation"},
          {"split", split_},
          {"seed", seed_},
          {"shuffle", shuffle_},
          {"batch", batch_}};
}

void TranslationLoader::restore(const nlohmann::json& state) {
  batch_ = data::restored_batch(
      state,
      {{"loader", "translation"}, {"split", split_}, {"seed", seed_}, {"shuffle", shuffle_}});
}

}  // namespace weft
