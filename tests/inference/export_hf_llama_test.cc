// Export to Hugging Face LLaMA: names, shapes and values (copied as they
// are: both sides store Linear weights (out, in) and rotate half-split
// pairs), config.json, and refusals of models LlamaForCausalLM cannot
// express. tests/reference/write_hf_fixture.cc (with "llama") writes the
// fixture that tests/reference/check_hf_export.py loads into transformers.

#include "weft/inference/export_hf_llama.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "inference_testing.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {
namespace {

ModelConfig llama_shaped() {
  ModelConfig c = model_preset("tiny-llama");
  c.vocab_size = 29, c.d_model = 16, c.n_heads = 4, c.n_kv_heads = 2, c.d_ff = 24;
  c.n_layers = 2, c.max_seq_len = 20, c.rope_theta = 500.0;
  return c;
}

TEST(HfLlamaExport, NamesShapesAndValuesFollowLlama) {
  const ModelConfig c = llama_shaped();
  auto model = random_model(c, 1);
  const std::string dir = temp_dir("llama-layout");
  export_hf_llama(*model, dir);
  const SafetensorsFile file = load_safetensors(dir + "/model.safetensors");

  const int64_t d = 16, f = 24, kv = 2 * 4;
  ExportedCopies expected = {
      {"model.embed_tokens.weight", {29, d}, "decoder.embed_tokens.weight"},
      {"model.norm.weight", {d}, "decoder.final_norm.weight"},
      {"lm_head.weight", {29, d}, "lm_head.weight"}};
  for (int i = 0; i < 2; ++i) {
    const std::string hf = "model.layers." + std::to_string(i) + ".";
    const std::string w = "decoder.layers." + std::to_string(i) + ".";
    for (const auto& [to, shape, from] :
         ExportedCopies{
             {"input_layernorm.weight", {d}, "self_attn.norm.weight"},
             {"self_attn.q_proj.weight", {d, d}, "self_attn.q.weight"},
             {"self_attn.k_proj.weight", {kv, d}, "self_attn.k.weight"},
             {"self_attn.v_proj.weight", {kv, d}, "self_attn.v.weight"},
             {"self_attn.o_proj.weight", {d, d}, "self_attn.o.weight"},
             {"post_attention_layernorm.weight", {d}, "ffn.norm.weight"},
             {"mlp.gate_proj.weight", {f, d}, "ffn.gate.weight"},
             {"mlp.up_proj.weight", {f, d}, "ffn.up.weight"},
             {"mlp.down_proj.weight", {d, f}, "ffn.down.weight"}}) {
      expected.emplace_back(hf + to, shape, w + from);
    }
  }
  expect_copied_exactly(*model, file, expected);
}

TEST(HfLlamaExport, ConfigJsonHasLlamaConfigFields) {
  HfExportOptions options;
  options.bos_id = 1, options.eos_id = 2;
  const nlohmann::json j = nlohmann::json::parse(hf_llama_config_json(llama_shaped(), options));
  EXPECT_EQ(j["model_type"], "llama");
  EXPECT_EQ(j["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(j["vocab_size"], 29);
  EXPECT_EQ(j["hidden_size"], 16);
  EXPECT_EQ(j["intermediate_size"], 24);
  EXPECT_EQ(j["num_hidden_layers"], 2);
  EXPECT_EQ(j["num_attention_heads"], 4);
  EXPECT_EQ(j["num_key_value_heads"], 2);
  EXPECT_EQ(j["head_dim"], 4);
  EXPECT_EQ(j["hidden_act"], "silu");
  EXPECT_DOUBLE_EQ(j["rope_theta"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(j["rms_norm_eps"].get<double>(), 1e-5);
  EXPECT_EQ(j["attention_bias"], false);
  EXPECT_EQ(j["tie_word_embeddings"], false);
  EXPECT_EQ(j["bos_token_id"], 1);
  EXPECT_EQ(j["eos_token_id"], 2);
}

TEST(HfLlamaExport, RefusesModelsThatAreNotLlamaShaped) {
  const auto refused = [](const std::function<void(ModelConfig&)>& change,
                          const std::string& needle) {
    ModelConfig c = llama_shaped();
    change(c);
    expect_refused([&] { check_llama_shaped(c); }, needle);
  };
  refused([](ModelConfig& c) { c.norm_type = NormType::LayerNorm; }, "layer norms");
  refused([](ModelConfig& c) { c.positions = PositionEncoding::Learned; }, "not rotary");
  refused([](ModelConfig& c) { c.ffn = FeedForwardType::MLP; }, "not SwiGLU");
  refused([](ModelConfig& c) { c.bias = true; }, "biases (model.bias)");
  refused([](ModelConfig& c) { c.norm = NormPlacement::Post; }, "post-norm");

  auto gpt = tiny_model(model_preset("tiny-gpt"), 2);
  const std::string dir = temp_dir("llama-refused");
  expect_refused([&] { export_hf_llama(*gpt, dir); }, "LlamaForCausalLM cannot express");
  EXPECT_FALSE(std::filesystem::exists(dir));  // nothing written
}

}  // namespace
}  // namespace weft::testing
