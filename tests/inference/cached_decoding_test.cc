// Cached decoding: prefill (or encode) + decode_step through a KVCache give
// the full forward's logits at every position, for both families, with
// padding and after beam reordering; a cache never exceeds the model's
// context.

#include "weft/inference/cached_decoding.h"

#include "inference_testing.h"

namespace weft::testing {
namespace {

ModelConfig gpt_config() {
  ModelConfig c = model_preset("tiny-gpt");
  c.vocab_size = 17, c.d_model = 24, c.n_heads = 3, c.d_ff = 40, c.n_layers = 2;
  c.max_seq_len = 10;
  c.tie_embeddings = false;
  return c;
}

ModelConfig encdec_config() {
  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.vocab_size = 19, c.max_seq_len = 9, c.pad_id = 0;
  return c;
}

// Full forward logits (B,T,V) of ids as the decoder input.
Tensor full_logits(Model& model, const Tensor& source, const Tensor& ids) {
  Batch batch;
  batch.source = source;
  batch.input = ids;
  batch.target = ids;
  model.forward(batch, StepContext{});
  return model.logits().clone();
}

// prefill(ids[:, :prompt]) and decode_step for each later position against
// the full forward.
void expect_incremental_matches_full(DecoderOnly& model, const Tensor& ids, int64_t prompt) {
  const Tensor full = full_logits(model, Tensor(), ids);
  const Tolerance tol = tolerance_for(full.dtype());
  DecoderOnlyDecoding decoding(model);
  KVCache cache;
  const Tensor& first = decoding.prefill(columns(ids, 0, prompt), cache);
  EXPECT_TRUE(all_close(first, position(full, prompt - 1), tol.rel, tol.abs)) << "prefill";
  for (int64_t t = prompt; t < ids.dim(1); ++t) {
    const Tensor& step = decoding.decode_step(columns(ids, t, t + 1), cache);
    EXPECT_TRUE(all_close(step, position(full, t), tol.rel, tol.abs)) << "position " << t;
    EXPECT_EQ(cache.length(), t + 1);
  }
}

class DecoderOnlyCache : public ::testing::TestWithParam<DType> {};

TEST_P(DecoderOnlyCache, PrefillAndStepsMatchFullForward) {
  for (PositionEncoding positions : {PositionEncoding::Learned, PositionEncoding::Sinusoidal}) {
    ModelConfig c = gpt_config();
    c.positions = positions;
    auto model = tiny_model(c, 1, GetParam());
    auto& gpt = dynamic_cast<DecoderOnly&>(*model);
    const Tensor ids = random_ids({3, 10}, 17, 2);
    for (int64_t prompt : {1, 4, 10}) {
      SCOPED_TRACE("prompt " + std::to_string(prompt));
      expect_incremental_matches_full(gpt, ids, prompt);
    }
  }
}

// LLaMA's decoder: rotary positions continue from the cache's length, and
// the cache holds the 2 key/value heads, not the 6 query heads.
TEST_P(DecoderOnlyCache, LlamaPrefillAndStepsMatchFullForward) {
  ModelConfig c = model_preset("tiny-llama");
  c.vocab_size = 17, c.d_model = 24, c.n_heads = 6, c.n_kv_heads = 2, c.d_ff = 40;
  c.max_seq_len = 10, c.rope_theta = 100.0;  // a small base: every pair turns visibly
  auto model = tiny_model(c, 1, GetParam());
  auto& llama = dynamic_cast<DecoderOnly&>(*model);
  const Tensor ids = random_ids({3, 10}, 17, 2);
  for (int64_t prompt : {1, 4, 10}) {
    SCOPED_TRACE("prompt " + std::to_string(prompt));
    expect_incremental_matches_full(llama, ids, prompt);
  }
  DecoderOnlyDecoding decoding(llama);
  KVCache cache;
  decoding.prefill(columns(ids, 0, 2), cache);
  EXPECT_EQ(cache.layer(0).k.shape(), (Shape{3, 10, 2, 4}));
  EXPECT_EQ(cache.layer(1).v.shape(), (Shape{3, 10, 2, 4}));
}

INSTANTIATE_TEST_SUITE_P(Precisions, DecoderOnlyCache, ::testing::Values(DType::F32, DType::F64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(DecoderOnlyCacheMasks, PaddingKeysAreHiddenAsInTheFullForward) {
  ModelConfig c = gpt_config();
  c.pad_id = 0;
  c.norm = NormPlacement::Post;
  auto model = tiny_model(c, 3);
  Tensor ids = random_ids({2, 9}, 17, 4);
  for (int64_t i : {2, 3, 11, 16}) ids.data<int32_t>()[i] = 0;  // pads in the prompt and after
  expect_incremental_matches_full(dynamic_cast<DecoderOnly&>(*model), ids, 4);
}

TEST(EncoderDecoderCache, EncodeAndStepsMatchFullForward) {
  auto model = tiny_model(encdec_config(), 5);
  EncoderDecoderDecoding translator(dynamic_cast<EncoderDecoder&>(*model));
  const Tensor source =
      Tensor::from_vector(std::vector<int32_t>{5, 6, 7, 8, 0, 0, 9, 10, 11, 12, 13, 14}, {2, 6});
  Tensor target = random_ids({2, 9}, 18, 6);
  for (int64_t i = 0; i < target.numel(); ++i) target.data<int32_t>()[i] += 1;  // no pads
  const Tensor full = full_logits(*model, source, target);
  const Tolerance tol = tolerance_for(DType::F32);

  KVCache cache;
  translator.encode(source, cache);
  EXPECT_EQ(cache.length(), 0);
  EXPECT_TRUE(cache.has_memory());
  for (int64_t t = 0; t < 9; ++t) {
    const Tensor& step = translator.decode_step(columns(target, t, t + 1), cache);
    EXPECT_TRUE(all_close(step, position(full, t), tol.rel, tol.abs)) << "position " << t;
  }
  // A forced prefix in one call, then steps.
  translator.encode(source, cache);
  const Tensor& prefix = translator.decode_step(columns(target, 0, 5), cache);
  EXPECT_TRUE(all_close(prefix, position(full, 4), tol.rel, tol.abs));
  const Tensor& next = translator.decode_step(columns(target, 5, 6), cache);
  EXPECT_TRUE(all_close(next, position(full, 5), tol.rel, tol.abs));
}

// Each decoding object owns its step's logits: two decodings of one model,
// interleaved over their own caches, each match the full forward, and a
// decoding's steps of one shape write into the same storage.
TEST(DecoderOnlyCache, TwoDecodingsOfOneModelKeepTheirOwnLogits) {
  auto model = tiny_model(gpt_config(), 15);
  auto& gpt = dynamic_cast<DecoderOnly&>(*model);
  const Tensor a = random_ids({2, 8}, 17, 16), b = random_ids({2, 8}, 17, 17);
  const Tensor full_a = full_logits(*model, Tensor(), a);
  const Tensor full_b = full_logits(*model, Tensor(), b);
  const Tolerance tol = tolerance_for(DType::F32);

  DecoderOnlyDecoding first(gpt), second(gpt);
  KVCache cache_a, cache_b;
  first.prefill(columns(a, 0, 3), cache_a);
  second.prefill(columns(b, 0, 3), cache_b);
  const float* storage = nullptr;
  for (int64_t t = 3; t < 8; ++t) {
    const Tensor& step_a = first.decode_step(columns(a, t, t + 1), cache_a);
    const Tensor& step_b = second.decode_step(columns(b, t, t + 1), cache_b);
    EXPECT_TRUE(all_close(step_a, position(full_a, t), tol.rel, tol.abs)) << "a, position " << t;
    EXPECT_TRUE(all_close(step_b, position(full_b, t), tol.rel, tol.abs)) << "b, position " << t;
    if (storage == nullptr) storage = step_a.data<float>();
    EXPECT_EQ(step_a.data<float>(), storage) << "logits storage of step " << t;
  }
}

// Rows picked by index from ids (B,T).
Tensor pick_rows(const Tensor& ids, const std::vector<int32_t>& index) {
  std::vector<int32_t> out;
  const int64_t T = ids.dim(1);
  for (int32_t r : index) {
    for (int64_t t = 0; t < T; ++t) out.push_back(ids.data<int32_t>()[r * T + t]);
  }
  return Tensor::from_vector(out, {static_cast<int64_t>(index.size()), T});
}

TEST(CacheReorder, RowsContinueTheSequencesTheyWerePickedFrom) {
  ModelConfig c = gpt_config();
  c.pad_id = 0;
  auto model = tiny_model(c, 7);
  DecoderOnlyDecoding gpt(dynamic_cast<DecoderOnly&>(*model));
  Tensor ids = random_ids({3, 7}, 17, 8);
  ids.data<int32_t>()[1] = 0;  // a pad in row 0's prompt: the mask moves with the row
  const std::vector<int32_t> index = {2, 0, 2, 1};
  const Tensor reordered = pick_rows(ids, index);
  const Tensor full = full_logits(*model, Tensor(), reordered);
  const Tolerance tol = tolerance_for(DType::F32);

  KVCache cache;
  gpt.prefill(columns(ids, 0, 4), cache);
  cache.reorder(Tensor::from_vector(index, {4}));
  EXPECT_EQ(cache.batch(), 4);
  for (int64_t t = 4; t < 7; ++t) {
    const Tensor& step = gpt.decode_step(columns(reordered, t, t + 1), cache);
    EXPECT_TRUE(all_close(step, position(full, t), tol.rel, tol.abs)) << "position " << t;
  }
}

TEST(CacheReorder, OneEncodedSourceExpandsToItsBeams) {
  auto model = tiny_model(encdec_config(), 9);
  EncoderDecoderDecoding translator(dynamic_cast<EncoderDecoder&>(*model));
  const Tensor source =
      Tensor::from_vector(std::vector<int32_t>{5, 6, 7, 0, 9, 10, 11, 12}, {2, 4});
  const std::vector<int32_t> index = {1, 1, 0, 1};
  const Tensor target =
      Tensor::from_vector(std::vector<int32_t>{1, 3, 4, 1, 5, 6, 1, 7, 8, 1, 3, 3}, {4, 3});
  const Tensor full = full_logits(*model, pick_rows(source, index), target);
  const Tolerance tol = tolerance_for(DType::F32);

  KVCache cache;
  translator.encode(source, cache);
  cache.reorder(Tensor::from_vector(index, {4}));
  for (int64_t t = 0; t < 3; ++t) {
    const Tensor& step = translator.decode_step(columns(target, t, t + 1), cache);
    EXPECT_TRUE(all_close(step, position(full, t), tol.rel, tol.abs)) << "position " << t;
  }
}

TEST(CacheLimits, NeverHoldsMoreThanTheContext) {
  auto model = tiny_model(gpt_config(), 11);  // max_seq_len 10
  DecoderOnlyDecoding gpt(dynamic_cast<DecoderOnly&>(*model));
  const Tensor ids = random_ids({2, 11}, 17, 12);
  KVCache cache;
  gpt.prefill(columns(ids, 0, 9), cache);
  gpt.decode_step(columns(ids, 9, 10), cache);
  EXPECT_EQ(cache.length(), 10);
  EXPECT_EQ(cache.capacity(), 10);
  expect_refused([&] { gpt.decode_step(columns(ids, 10, 11), cache); },
                 "holds at most 10 positions (model.max_seq_len is 10)");
  EXPECT_EQ(cache.length(), 10);  // a refused step changes nothing

  KVCache fresh;
  expect_refused([&] { gpt.prefill(ids, fresh); }, "cannot add 11 position(s)");

  KVCache small(4);
  gpt.prefill(columns(ids, 0, 4), small);
  expect_refused([&] { gpt.decode_step(columns(ids, 4, 5), small); }, "holds at most 4 positions");

  KVCache too_large(11);
  expect_refused([&] { gpt.prefill(columns(ids, 0, 2), too_large); },
                 "capacity 11 exceeds the model's context (model.max_seq_len) of 10");
}

TEST(CacheLimits, RefusesMisuse) {
  auto gpt_model = tiny_model(gpt_config(), 13);
  DecoderOnlyDecoding gpt(dynamic_cast<DecoderOnly&>(*gpt_model));
  auto ed_model = tiny_model(encdec_config(), 14);
  EncoderDecoderDecoding translator(dynamic_cast<EncoderDecoder&>(*ed_model));
  const Tensor one = Tensor::from_vector(std::vector<int32_t>{3, 4}, {2, 1});

  KVCache cache;
  expect_refused([&] { gpt.decode_step(one, cache); }, "call prefill (decoder-only)");
  expect_refused([&] { translator.decode_step(one, cache); }, "call encode first");
  gpt.prefill(one, cache);
  expect_refused(
      [&] {
        gpt.decode_step(Tensor::from_vector(std::vector<int32_t>{3}, {1, 1}), cache);
      },
      "ids hold 1 sequences but the cache holds 2");
  expect_refused(
      [&] {
        gpt.decode_step(Tensor::from_vector(std::vector<int32_t>{3, 17}, {2, 1}), cache);
      },
      "outside the vocabulary [0, 17)");
  expect_refused([&] { cache.reorder(Tensor::from_vector(std::vector<int32_t>{2}, {1})); },
                 "index[0] = 2");
  translator.encode(Tensor::from_vector(std::vector<int32_t>{3, 4}, {2, 1}), cache);
  expect_refused([&] { gpt.decode_step(one, cache); }, "holds an encoder's output");
}

}  // namespace
}  // namespace weft::testing
