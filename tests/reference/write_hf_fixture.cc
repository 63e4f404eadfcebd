// Writes the fixture that tests/reference/check_hf_export.py compares with
// Hugging Face transformers: a random GPT-2-shaped (or LLaMA-shaped) model
// exported by weft, tokens with weft's logits and loss, and a greedy
// continuation through the KV cache. Not run by CI (transformers is not
// installed there).
//   write_hf_fixture DIR [gpt2|llama]

#include <cstdio>

#include "inference_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/model/decoder_only.h"
#include "weft/inference/sampling.h"
#include "weft/tensor/safetensors.h"
#include "weft/inference/export_hf.h"
#include "weft/inference/export_hf_llama.h"

using namespace weft;
using namespace weft::testing;

int main(int argc, char** argv) {
  const std::string family = argc == 3 ? argv[2] : "gpt2";
  if (argc < 2 || argc > 3 || (family != "gpt2" && family != "llama")) {
    std::fprintf(stderr, "usage: write_hf_fixture DIR [gpt2|llama]\n");
    return 2;
  }
  const char* dir = argv[1];
  const bool llama = family == "llama";
  ModelConfig c = model_preset(llama ? "tiny-llama" : "tiny-gpt");
  c.norm_eps = 1e-5;
  // Every parameter random, biases and norm gains too.
  auto random_model = [](const ModelConfig& config, uint64_t seed) {
    auto model = tiny_model(config, seed);
    uint64_t k = seed * 1000;
    for (Parameter* p : model->parameters()) {
      ops::axpy(0.1, random_tensor(p->value.shape(), p->value.dtype(), ++k), p->value);
    }
    return model;
  };

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
