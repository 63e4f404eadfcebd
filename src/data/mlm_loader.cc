#include "weft/data/mlm_loader.h"

#include <algorithm>
#include <vector>

#include "data/loader_common.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

// The window LmLoader draws for a row of seq_len positions, once the dataset
// is known to suit a masked language model.
int64_t window_length(const DatasetInfo& dataset, int64_t seq_len) {
  WEFT_CHECK(!dataset.is_translation(), "MlmLoader: ", dataset.dir, " is a translation dataset; ",
             "an encoder-only (masked LM) model trains on a language-model corpus");
  WEFT_CHECK(dataset.tokenizer->has_mlm_specials(), "MlmLoader: the ", dataset.tokenizer->kind(),
             " tokenizer of ", dataset.dir, " has no [CLS] [SEP] [MASK] [PAD] tokens, which an ",
             "encoder-only (masked LM) model needs; prepare the data again with weft prepare ",
             "--mlm-specials");
  WEFT_CHECK(seq_len >= 3, "MlmLoader: sequence length ", seq_len, " leaves no room for a token ",
             "between [CLS] and [SEP]; use at least 3");
  return seq_len - 2;
}

}  // namespace

MlmLoader::MlmLoader(const DatasetInfo& dataset, const std::string& split, int64_t batch_size,
                     int64_t seq_len, uint64_t seed, int64_t dp_rank, int64_t dp_size)
    : windows_(dataset, split, batch_size, window_length(dataset, seq_len), seed),
      split_(split),
      batch_size_(batch_size),
      seq_len_(seq_len),
      seed_(seed),
      dp_rank_(dp_rank),
      dp_size_(dp_size),
      cls_(dataset.tokenizer->cls_id()),
      sep_(dataset.tokenizer->sep_id()),
      masking_(mlm_masking_for(*dataset.tokenizer)) {
  data::check_data_parallel("MlmLoader", batch_size, dp_rank, dp_size);
}

MlmLoader::MlmLoader(const std::string& dataset_dir, const std::string& split, int64_t batch_size,
                     int64_t seq_len, uint64_t seed, int64_t dp_rank, int64_t dp_size)
    : MlmLoader(read_dataset(dataset_dir), split, batch_size, seq_len, seed, dp_rank, dp_size) {}

Batch MlmLoader::next() {
  const int64_t index = windows_.batches_drawn();
  const Batch windows = windows_.next();  // every rank's rows
  const int64_t window = seq_len_ - 2;
  Tensor::ensure(framed_, {batch_size_, seq_len_}, DType::I32, Device::CPU);
  const int32_t* tokens = windows.input.data<int32_t>();
  for (int64_t r = 0; r < batch_size_; ++r) {
    int32_t* row = framed_.data<int32_t>() + r * seq_len_;
    row[0] = cls_;
    std::copy(tokens + r * window, tokens + (r + 1) * window, row + 1);
    row[seq_len_ - 1] = sep_;
  }
  const int64_t masked = mlm_mask(framed_, masking_, seed_, static_cast<uint64_t>(index), 0,
                                  input_, target_);
  const int64_t rows = local_batch_size(), begin = dp_rank_ * rows;
  Batch batch;
  batch.input = input_.rows(begin, begin + rows).clone();
  batch.target = target_.rows(begin, begin + rows).clone();
  batch.counted = count_targets(batch.target);
  batch.global_counted = masked;
  batch.global_row = begin;
  batch.global_rows = batch_size_;
  return batch;
}

nlohmann::json MlmLoader::identity() const {
  return {{"loader", "mlm"}, {"split", split_}, {"seed", seed_}};
}

nlohmann::json MlmLoader::state() const {
  nlohmann::json state = identity();
  state["batch"] = batches_drawn();
  return state;
}

void MlmLoader::restore(const nlohmann::json& state) {
  const int64_t batch = data::restored_batch(state, identity());
  windows_.restore({{"loader", "lm"}, {"split", split_}, {"seed", seed_}, {"batch", batch}});
}

EpochPosition MlmLoader::epoch_position() const {
  return windows_.epoch_position();
}

int64_t MlmLoader::batches_in_epochs(int64_t epochs) const {
  return windows_.batches_in_epochs(epochs);
}

}  // namespace weft
