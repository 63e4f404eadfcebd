// Writes the fixture that tests/reference/check_hf_export.py compares with
// Hugging Face transformers: a random GPT-2-shaped (or LLaMA-shaped) model
// exported by weft, tokens with weft's logits and loss, and a greedy
// continuation through the KV cache; or (bert) a random BERT-shaped masked
// LM, a padded batch with two segments and masked targets, weft's logits and
// masked-LM loss, for tests/reference/check_hf_bert.py. Not run by CI
// (transformers is not installed there).
//   write_hf_fixture DIR [gpt2|llama|bert]

#include <cstdio>

#include "inference_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/model/decoder_only.h"
#include "weft/inference/sampling.h"
#include "weft/tensor/safetensors.h"
#include "weft/inference/export_hf.h"
#include "weft/inference/export_hf_bert.h"
#include "weft/inference/export_hf_llama.h"

using namespace weft;
using namespace weft::testing;

namespace {

// A BERT-shaped model: pad 0, [CLS] 1, [SEP] 2. Row 0 holds two segments
// ([CLS] a [SEP] b [SEP]), row 1 one segment and 5 pads; about one position
// in five is a masked-LM target.
int write_bert_fixture(const char* dir) {
  ModelConfig c = model_preset("tiny-bert");
  c.vocab_size = 101, c.d_model = 64, c.n_heads = 4, c.d_ff = 200, c.n_layers = 3;
  c.max_seq_len = 64, c.pad_id = 0, c.sep_id = 2;
  auto model = random_model(c, 5);
  export_hf_bert(*model, dir);
  const int64_t T = 24;
  Tensor tokens = random_ids({2, T}, 98, 6);
  int32_t* ids = tokens.data<int32_t>();
  for (int64_t i = 0; i < 2 * T; ++i) ids[i] += 3;  // ordinary tokens
  ids[0] = ids[T] = 1;
  ids[10] = ids[T - 1] = 2;
  ids[T + 18] = 2;
  for (int64_t t = 19; t < T; ++t) ids[T + t] = 0;
  Tensor target = random_ids({2, T}, 1, 7);
  for (int64_t i = 0; i < 2 * T; ++i) {
    const bool special = ids[i] <= 2;
    target.data<int32_t>()[i] = !special && i % 5 == 2 ? (ids[i] * 7) % 98 + 3 : kIgnoreIndex;
  }
  Batch b;
  b.input = tokens;
  b.target = target;
  const LossSum loss = model->forward(b, StepContext{});
  Tensor mean = Tensor::empty({1}, DType::F64);
  mean.data<double>()[0] = loss.mean();
  save_safetensors(std::string(dir) + "/weft_reference.safetensors",
                   {{"tokens", tokens}, {"labels", target}, {"logits", model->logits()},
                    {"loss", mean}});
  std::printf("weft masked-LM loss %.8f over %ld masked tokens; fixture in %s\n", loss.mean(),
              static_cast<long>(loss.tokens), dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string family = argc == 3 ? argv[2] : "gpt2";
  if (argc < 2 || argc > 3 || (family != "gpt2" && family != "llama" && family != "bert")) {
    std::fprintf(stderr, "usage: write_hf_fixture DIR [gpt2|llama|bert]\n");
    return 2;
  }
  const char* dir = argv[1];
  if (family == "bert") return write_bert_fixture(dir);
  const bool llama = family == "llama";
  ModelConfig c = model_preset(llama ? "tiny-llama" : "tiny-gpt");
  c.norm_eps = 1e-5;
  c.vocab_size = 101, c.d_model = 64, c.n_heads = 4, c.d_ff = 200, c.n_layers = 3;
  c.max_seq_len = 64;
  // LLaMA: 2 key/value heads for the 4 query heads, a small rotary base so
  // that every feature pair turns within the 64 positions.
  if (llama) c.n_kv_heads = 2, c.rope_theta = 500.0;
  auto model = random_model(c, 3);
  if (llama) {
    export_hf_llama(*model, dir);
  } else {
    export_hf_gpt2(*model, dir);
  }
  const Tensor tokens = random_ids({2, 25}, 101, 4);  // each row: 24 inputs, 24 targets
  Batch b;
  b.input = columns(tokens, 0, 24);
  b.target = columns(tokens, 1, 25);
  const LossSum loss = model->forward(b, StepContext{});
  Tensor mean = Tensor::empty({1}, DType::F64);
  mean.data<double>()[0] = loss.mean();
  // Greedy continuation through the KV cache, for transformers' generate().
  const std::vector<int32_t> prompt = {7, 42, 3, 99, 15};
  const int64_t new_tokens = 50;
  const std::vector<int32_t> greedy = generate(dynamic_cast<DecoderOnly&>(*model), prompt,
                                               new_tokens, SamplingOptions{0.0, 0, 1.0, 0});
  save_safetensors(std::string(dir) + "/weft_reference.safetensors",
                   {{"tokens", tokens},
                    {"logits", model->logits()},
                    {"loss", mean},
                    {"greedy_prompt", Tensor::from_vector(prompt, {1, 5})},
                    {"greedy_tokens", Tensor::from_vector(greedy, {1, new_tokens})}});
  std::printf("weft loss %.8f over %ld tokens; fixture in %s\n", loss.mean(),
              static_cast<long>(loss.tokens), dir);
  return 0;
}
