// BERT's corruption, one position at a time. Each (seed, step, global
// sequence) is a stream of the counter-based generator and position t takes
// its draws 3t (selected?), 3t+1 (mask, random or keep) and 3t+2 (which random
// token): no draw depends on another row or on how the batch was split.

#include "weft/data/mlm_masking.h"

#include <algorithm>

#include "data/loader_common.h"
#include "weft/data/batch.h"
#include "weft/tensor/counter_rng.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

enum Draw : uint64_t { kSelect = 0, kAction = 1, kToken = 2, kDraws = 3 };

// `special` and mask_id, sorted, without repeats.
std::vector<int32_t> special_ids(const MlmMasking& m) {
  std::vector<int32_t> ids = m.special;
  ids.push_back(m.mask_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// The k-th id of [0, vocab) that is not in `specials` (sorted): k, moved past
// every special at or below it.
int32_t ordinary_id(int64_t k, const std::vector<int32_t>& specials) {
  for (const int32_t s : specials) {
    if (s <= k) ++k;
  }
  return static_cast<int32_t>(k);
}

void check_probability(double p, const char* field) {
  WEFT_CHECK(p >= 0.0 && p <= 1.0, "MlmMasking: ", field, " = ", p,
             " is not a probability in [0, 1]");
}

}  // namespace

void MlmMasking::validate() const {
  check_probability(select, "select");
  check_probability(mask, "mask");
  check_probability(random, "random");
  WEFT_CHECK(mask + random <= 1.0, "MlmMasking: mask + random = ", mask + random,
             " exceeds 1; they are shares of the selected tokens (the rest stay as they are)");
  WEFT_CHECK(vocab_size > 0, "MlmMasking: vocab_size must be positive, got ", vocab_size);
  WEFT_CHECK(mask_id >= 0 && mask_id < vocab_size, "MlmMasking: mask_id ", mask_id,
             " is outside the vocabulary [0, ", vocab_size,
             "); is the tokenizer missing its MLM specials?");
  for (const int32_t id : special) {
    WEFT_CHECK(id >= 0 && id < vocab_size, "MlmMasking: special id ", id,
               " is outside the vocabulary [0, ", vocab_size, ")");
  }
  const int64_t ordinary = vocab_size - static_cast<int64_t>(special_ids(*this).size());
  WEFT_CHECK(random == 0.0 || ordinary > 0, "MlmMasking: random = ", random, " but all ",
             vocab_size, " ids of the vocabulary are special, so there is no token to draw");
}

MlmMasking mlm_masking_for(const Tokenizer& tokenizer) {
  WEFT_CHECK(tokenizer.has_mlm_specials(), "masked-LM training needs a tokenizer with [CLS] [SEP] ",
             "[MASK] and a pad, and this ", tokenizer.kind(), " tokenizer has none; prepare the ",
             "data again with weft prepare --mlm-specials");
  MlmMasking m;
  m.mask_id = tokenizer.mask_id();
  m.vocab_size = tokenizer.vocab_size();
  for (const int32_t id : {tokenizer.cls_id(), tokenizer.sep_id(), tokenizer.mask_id(),
                           tokenizer.pad_id(), tokenizer.bos_id(), tokenizer.eos_id()}) {
    if (id >= 0) m.special.push_back(id);
  }
  return m;
}

int64_t mlm_mask(const Tensor& ids, const MlmMasking& m, uint64_t seed, uint64_t step,
                 int64_t first_row, Tensor& input, Tensor& target) {
  m.validate();
  WEFT_CHECK(
      ids.defined() && ids.rank() == 2 && ids.dtype() == DType::I32 && ids.device() == Device::CPU,
      "mlm_mask: ids must be a (B,T) i32 tensor on the host, got ",
      ids.defined() ? shape_str(ids.shape()) + " " + dtype_name(ids.dtype()) : "none");
  WEFT_CHECK(first_row >= 0, "mlm_mask: first_row must be >= 0, got ", first_row);
  const int64_t rows = ids.dim(0), cols = ids.dim(1);
  const std::vector<int32_t> specials = special_ids(m);
  const auto ordinary = static_cast<uint64_t>(m.vocab_size - static_cast<int64_t>(specials.size()));
  const uint64_t site = rng::hash_name("mlm-mask");

  Tensor::ensure(input, ids.shape(), DType::I32, Device::CPU);
  Tensor::ensure(target, ids.shape(), DType::I32, Device::CPU);
  const int32_t* original = ids.data<int32_t>();
  int32_t* in = input.data<int32_t>();
  int32_t* tgt = target.data<int32_t>();
  int64_t selected = 0;
  for (int64_t b = 0; b < rows; ++b) {
    const uint64_t key = rng::stream_key(seed ^ site, step, static_cast<uint64_t>(first_row + b));
    for (int64_t t = 0; t < cols; ++t) {
      const int64_t i = b * cols + t;
      const int32_t id = original[i];  // read first: input or target may be ids itself
      WEFT_CHECK(id >= 0 && id < m.vocab_size, "mlm_mask: token ", id, " at row ", b, ", position ",
                 t, " is outside the vocabulary [0, ", m.vocab_size, ")");
      const auto draw = [&](Draw d) { return static_cast<uint64_t>(t) * kDraws + d; };
      const bool special = std::binary_search(specials.begin(), specials.end(), id);
      if (special || rng::uniform01_double(key, draw(kSelect)) >= m.select) {
        in[i] = id;
        tgt[i] = kIgnoreIndex;
        continue;
      }
      ++selected;
      tgt[i] = id;
      const double action = rng::uniform01_double(key, draw(kAction));
      if (action < m.mask) {
        in[i] = m.mask_id;
      } else if (action < m.mask + m.random) {
        const uint64_t bits = rng::mix64(key ^ rng::mix64(draw(kToken)));
        in[i] = ordinary_id(static_cast<int64_t>(data::below(bits, ordinary)), specials);
      } else {
        in[i] = id;
      }
    }
  }
  return selected;
}

}  // namespace weft
