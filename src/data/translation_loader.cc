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
                                     int64_t max_len, int64_t dp_rank, int64_t dp_size,
                                     int64_t max_tokens)
    : source_(open_side(dataset, split, "src", *dataset.source_tokenizer)),
      target_(open_side(dataset, split, "tgt", *dataset.tokenizer)),
      split_(split),
      batch_size_(batch_size),
      seed_(seed),
      shuffle_(shuffle),
      dp_rank_(dp_rank),
      dp_size_(dp_size),
      max_tokens_(max_tokens),
      source_pad_(dataset.source_tokenizer->pad_id()),
      target_pad_(dataset.tokenizer->pad_id()),
      bos_(dataset.tokenizer->bos_id()) {
  WEFT_CHECK(max_tokens >= 0, "data.max_tokens must be >= 0 (0: data.batch_size sentences per ",
             "batch), got ", max_tokens);
  // Token budgets size batches themselves; the sentence count only checks the ranks.
  data::check_data_parallel("TranslationLoader", max_tokens > 0 ? dp_size : batch_size, dp_rank,
                            dp_size);
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
  if (max_tokens_ > 0) {
    for (int64_t i = 0; i < sentences(); ++i) {
      source_lengths_.push_back(source_starts_[i + 1] - source_starts_[i]);
      target_lengths_.push_back(target_positions(i));
    }
    plan(0);  // refuses a budget too small for the split now, not mid-run
  }
}

TranslationLoader::TranslationLoader(const std::string& dataset_dir, const std::string& split,
                                     int64_t batch_size, uint64_t seed, bool shuffle,
                                     int64_t max_len, int64_t dp_rank, int64_t dp_size,
                                     int64_t max_tokens)
    : TranslationLoader(read_dataset(dataset_dir), split, batch_size, seed, shuffle, max_len,
                        dp_rank, dp_size, max_tokens) {}

int64_t TranslationLoader::batches_per_epoch() const {
  if (max_tokens_ > 0) return plan(0).batches();
  return (sentences() + batch_size_ - 1) / batch_size_;
}

const std::vector<int64_t>& TranslationLoader::order(int64_t epoch) const {
  const int64_t n = sentences();
  if (epoch != order_epoch_) {
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), int64_t{0});
    if (shuffle_) {
      data::shuffle(order_, rng::stream_key(seed_, rng::hash_name(split_.c_str()),
                                            static_cast<uint64_t>(epoch)));
    }
    order_epoch_ = epoch;
  }
  return order_;
}

int64_t TranslationLoader::sentence_at(int64_t p) const {
  const int64_t n = sentences();
  if (!shuffle_) return p % n;
  return order(p / n)[p % n];
}

const TokenBatchPlan& TranslationLoader::plan(int64_t epoch) const {
  WEFT_CHECK(max_tokens_ > 0, "TranslationLoader: plan() needs token-budget batches");
  if (epoch != plan_epoch_) {
    const uint64_t batch_key = rng::stream_key(seed_, rng::hash_name(("batches of " + split_).c_str()),
                                               static_cast<uint64_t>(epoch));
    plan_ = plan_token_batches(source_lengths_, target_lengths_, order(epoch), max_tokens_,
                               dp_size_, shuffle_, batch_key);
    plan_epoch_ = epoch;
  }
  return plan_;
}

Batch TranslationLoader::make_batch(const std::vector<int64_t>& picked) const {
  const auto rows = static_cast<int64_t>(picked.size());
  int64_t source_len = 0, target_len = 0;  // longest, with EOS (source) or BOS (target)
  for (int64_t s : picked) {
    source_len = std::max(source_len, source_starts_[s + 1] - source_starts_[s]);
    target_len = std::max(target_len, target_positions(s));
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
    const int64_t n_target = target_positions(s);
    counted += n_target;
    int32_t* target_row = target.data() + r * target_len;
    target_.read(target_starts_[s], n_target, target_row);
    int32_t* input_row = input.data() + r * target_len;
    input_row[0] = bos_;
    std::copy(target_row, target_row + n_target - 1, input_row + 1);
  }
  Batch batch;
  batch.source = Tensor::from_vector(source, {rows, source_len});
  batch.input = Tensor::from_vector(input, {rows, target_len});
  batch.target = Tensor::from_vector(target, {rows, target_len});
  batch.counted = counted;
  return batch;
}

Batch TranslationLoader::next() {
  if (max_tokens_ > 0) return next_token_batch();
  const int64_t rows = local_batch_size();
  std::vector<int64_t> picked(rows);
  for (int64_t r = 0; r < rows; ++r) {
    picked[r] = sentence_at(batch_ * batch_size_ + dp_rank_ * rows + r);
  }
  Batch batch = make_batch(picked);
  // Every rank's rows: the targets of the global batch.
  batch.global_counted = 0;
  for (int64_t g = 0; g < batch_size_; ++g) {
    batch.global_counted += target_positions(sentence_at(batch_ * batch_size_ + g));
  }
  ++batch_;
  return batch;
}

Batch TranslationLoader::next_token_batch() {
  const TokenBatchPlan& p = plan(epoch_);
  const int64_t first = p.starts[position_], k = p.batch_size(position_);
  const int64_t begin = dp_rank_ * k / dp_size_, end = (dp_rank_ + 1) * k / dp_size_;
  std::vector<int64_t> picked(p.pairs.begin() + first + begin, p.pairs.begin() + first + end);
  Batch batch = make_batch(picked);
  batch.global_counted = 0;
  for (int64_t g = 0; g < k; ++g) batch.global_counted += target_positions(p.pairs[first + g]);
  batch.global_row = begin;
  batch.global_rows = k;
  ++batch_;
  if (++position_ == p.batches()) {  // the next batch opens the next epoch
    ++epoch_;
    position_ = 0;
  }
  return batch;
}

EpochPosition TranslationLoader::epoch_position() const {
  EpochPosition at;
  if (max_tokens_ > 0) {
    const TokenBatchPlan& p = plan(epoch_);
    at.epoch = epoch_;
    at.batches = p.batches();
    at.epochs_done = static_cast<double>(epoch_) +
                     static_cast<double>(position_) / static_cast<double>(p.batches());
    at.padding_share = p.padding_share();
    return at;
  }
  const int64_t drawn = batch_ * batch_size_;  // sentences
  at.epoch = drawn / sentences();
  at.batches = batches_per_epoch();
  at.epochs_done = static_cast<double>(drawn) / static_cast<double>(sentences());
  return at;
}

int64_t TranslationLoader::batches_in_epochs(int64_t epochs) const {
  WEFT_CHECK(epochs >= 0, "train.epochs must be >= 0, got ", epochs);
  if (max_tokens_ == 0) return (epochs * sentences() + batch_size_ - 1) / batch_size_;
  int64_t batches = 0;
  for (int64_t e = 0; e < epochs; ++e) batches += plan(e).batches();
  return batches;
}

// What a saved state must share with this loader to continue its stream.
nlohmann::json TranslationLoader::identity() const {
  nlohmann::json identity = {
      {"loader", "translation"}, {"split", split_}, {"seed", seed_}, {"shuffle", shuffle_}};
  if (max_tokens_ > 0) identity["max_tokens"] = max_tokens_;
  return identity;
}

nlohmann::json TranslationLoader::state() const {
  nlohmann::json state = identity();
  state["batch"] = batch_;
  if (max_tokens_ > 0) {
    state["epoch"] = epoch_;
    state["position"] = position_;
  }
  return state;
}

void TranslationLoader::restore(const nlohmann::json& state) {
  WEFT_CHECK(max_tokens_ > 0 || !state.contains("max_tokens"), "cannot restore the translation ",
             "loader: the saved state has data.max_tokens = ",
             state.value("max_tokens", nlohmann::json()).dump(), " but this run batches ",
             "data.batch_size sentences; resuming would not continue the same data stream");
  batch_ = data::restored_batch(state, identity());
  if (max_tokens_ == 0) return;
  epoch_ = data::saved_count(state, "epoch", "translation");
  position_ = data::saved_count(state, "position", "translation");
  WEFT_CHECK(position_ < plan(epoch_).batches(), "cannot restore the translation loader: ",
             "position ", position_, " is past the last of the ", plan(epoch_).batches(),
             " batches of epoch ", epoch_);
}

}  // namespace weft
