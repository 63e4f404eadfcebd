// Export to Hugging Face GPT-2: names, shapes and values (transposes and
// concatenations checked element by element), config.json, and refusals of
// models that are not GPT-2-shaped. tests/reference/write_hf_fixture.cc
// writes the fixture that tests/reference/check_hf_export.py loads into
// transformers.

#include "weft/inference/export_hf.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "inference_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/inference/sampling.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {
namespace {

ModelConfig gpt2_shaped() {
  ModelConfig c = model_preset("tiny-gpt");
  c.vocab_size = 29, c.d_model = 16, c.n_heads = 4, c.d_ff = 40, c.n_layers = 2;
  c.max_seq_len = 20, c.norm_eps = 1e-5;
  return c;
}

// weft parameter values by name, as double vectors.
std::map<std::string, std::vector<double>> values_of(Model& model) {
  std::map<std::string, std::vector<double>> out;
  for (Parameter* p : model.parameters()) out[p->name] = p->value.to_double_vector();
  return out;
}

TEST(HfExport, NamesShapesAndValuesFollowGpt2) {
  const ModelConfig c = gpt2_shaped();
  auto model = random_model(c, 1);
  const std::string dir = temp_dir("layout");
  export_hf_gpt2(*model, dir);
  const SafetensorsFile file = load_safetensors(dir + "/model.safetensors");
  EXPECT_EQ(file.meta("format"), "pt");

  const int64_t d = 16, f = 40;
  std::vector<std::pair<std::string, Shape>> expected = {{"wte.weight", {29, d}},
                                                         {"wpe.weight", {20, d}}};
  for (int i = 0; i < 2; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    for (auto [name, shape] :
         std::vector<std::pair<std::string, Shape>>{{"ln_1.weight", {d}},
                                                    {"ln_1.bias", {d}},
                                                    {"attn.c_attn.weight", {d, 3 * d}},
                                                    {"attn.c_attn.bias", {3 * d}},
                                                    {"attn.c_proj.weight", {d, d}},
                                                    {"attn.c_proj.bias", {d}},
                                                    {"ln_2.weight", {d}},
                                                    {"ln_2.bias", {d}},
                                                    {"mlp.c_fc.weight", {d, f}},
                                                    {"mlp.c_fc.bias", {f}},
                                                    {"mlp.c_proj.weight", {f, d}},
                                                    {"mlp.c_proj.bias", {d}}}) {
      expected.emplace_back(h + name, shape);
    }
  }
  expected.emplace_back("ln_f.weight", Shape{d});
  expected.emplace_back("ln_f.bias", Shape{d});
  ASSERT_EQ(file.tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, expected[i].first);
    EXPECT_EQ(file.tensors[i].second.shape(), expected[i].second) << expected[i].first;
    EXPECT_EQ(file.tensors[i].second.dtype(), DType::F32) << expected[i].first;
  }

  auto w = values_of(*model);
  const auto hf = [&](const std::string& name) { return file.at(name).to_double_vector(); };
  EXPECT_EQ(hf("wte.weight"), w["decoder.embed_tokens.weight"]);
  EXPECT_EQ(hf("wpe.weight"), w["decoder.embed_positions.weight"]);
  EXPECT_EQ(hf("ln_f.bias"), w["decoder.final_norm.bias"]);
  for (int i = 0; i < 2; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    const std::string l = "decoder.layers." + std::to_string(i) + ".";
    EXPECT_EQ(hf(h + "ln_1.weight"), w[l + "self_attn.norm.weight"]);
    EXPECT_EQ(hf(h + "ln_2.bias"), w[l + "ffn.norm.bias"]);
    // c_attn.weight[r, p·d + c] = W_p[c, r] for p = q, k, v; the bias concatenates.
    const std::vector<double> c_attn = hf(h + "attn.c_attn.weight");
    const std::vector<double> c_attn_bias = hf(h + "attn.c_attn.bias");
    const char* parts[] = {"q", "k", "v"};
    for (int p = 0; p < 3; ++p) {
      const std::vector<double>& wp = w[l + "self_attn." + parts[p] + ".weight"];
      const std::vector<double>& bp = w[l + "self_attn." + parts[p] + ".bias"];
      for (int64_t r = 0; r < d; ++r) {
        for (int64_t col = 0; col < d; ++col) {
          ASSERT_EQ(c_attn[r * 3 * d + p * d + col], wp[col * d + r]) << parts[p];
        }
        ASSERT_EQ(c_attn_bias[p * d + r], bp[r]) << parts[p];
      }
    }
    // Conv1D (in, out) = Linear (out, in) transposed.
    const auto expect_transposed = [&](const std::string& hf_name, const std::string& weft_name,
                                       int64_t out, int64_t in) {
      const std::vector<double> t = hf(hf_name);
      const std::vector<double>& lin = w[weft_name];
      for (int64_t r = 0; r < in; ++r) {
        for (int64_t col = 0; col < out; ++col) ASSERT_EQ(t[r * out + col], lin[col * in + r]);
      }
    };
    expect_transposed(h + "attn.c_proj.weight", l + "self_attn.o.weight", d, d);
    expect_transposed(h + "mlp.c_fc.weight", l + "ffn.fc1.weight", f, d);
    expect_transposed(h + "mlp.c_proj.weight", l + "ffn.fc2.weight", d, f);
    EXPECT_EQ(hf(h + "attn.c_proj.bias"), w[l + "self_attn.o.bias"]);
    EXPECT_EQ(hf(h + "mlp.c_fc.bias"), w[l + "ffn.fc1.bias"]);
    EXPECT_EQ(hf(h + "mlp.c_proj.bias"), w[l + "ffn.fc2.bias"]);
  }
  std::filesystem::remove_all(dir);
}

TEST(HfExport, ConfigJsonHasGpt2ConfigFields) {
  HfExportOptions options;
  options.bos_id = 1, options.eos_id = 2;
  const nlohmann::json j = nlohmann::json::parse(hf_gpt2_config_json(gpt2_shaped(), options));
  EXPECT_EQ(j["model_type"], "gpt2");
  EXPECT_EQ(j["architectures"][0], "GPT2LMHeadModel");
  EXPECT_EQ(j["vocab_size"], 29);
  EXPECT_EQ(j["n_positions"], 20);
  EXPECT_EQ(j["n_embd"], 16);
  EXPECT_EQ(j["n_layer"], 2);
  EXPECT_EQ(j["n_head"], 4);
  EXPECT_EQ(j["n_inner"], 40);
  EXPECT_EQ(j["activation_function"], "gelu_new");
  EXPECT_DOUBLE_EQ(j["layer_norm_epsilon"].get<double>(), 1e-5);
  EXPECT_EQ(j["tie_word_embeddings"], true);
  EXPECT_EQ(j["bos_token_id"], 1);
  EXPECT_EQ(j["eos_token_id"], 2);
  EXPECT_FALSE(j.contains("pad_token_id"));
}

TEST(HfExport, RefusesModelsThatAreNotGpt2Shaped) {
  const auto refused = [](const std::function<void(ModelConfig&)>& change,
                          const std::string& needle) {
    ModelConfig c = gpt2_shaped();
    change(c);
    expect_refused([&] { check_gpt2_shaped(c); }, needle);
  };
  refused([](ModelConfig& c) { c.positions = PositionEncoding::Sinusoidal; },
          "positions are sinusoidal, not learned");
  refused([](ModelConfig& c) { c.norm = NormPlacement::Post; }, "post-norm, not pre-norm");
  refused([](ModelConfig& c) { c.activation = ops::Activation::ReLU; }, "ReLU, not GELU");
  refused([](ModelConfig& c) { c.tie_embeddings = false; }, "not tied to the embedding");
  refused([](ModelConfig& c) { c.scale_embeddings = true; }, "scaled by sqrt(d_model)");
  refused([](ModelConfig& c) { c.positions = PositionEncoding::Rotary; },
          "positions are rotary, not learned");
  refused([](ModelConfig& c) { c.norm_type = NormType::RMSNorm; }, "RMS norms, not layer norms");
  refused([](ModelConfig& c) { c.ffn = FeedForwardType::SwiGLU; }, "SwiGLU, not an MLP");
  refused([](ModelConfig& c) { c.n_kv_heads = 2; }, "grouped-query (model.n_kv_heads)");
  refused([](ModelConfig& c) { c.bias = false; }, "no biases (model.bias)");
  refused([](ModelConfig& c) { c.architecture = Architecture::EncoderDecoder; },
          "the model is not GPT-2-shaped: it is an encoder-decoder");

  auto translator = tiny_model(
      [] {
        ModelConfig c = model_preset("tiny-encoder-decoder");
        c.vocab_size = 11;
        return c;
      }(),
      2);
  const std::string dir = temp_dir("refused");
  expect_refused([&] { export_hf_gpt2(*translator, dir); },
                 "encoder-decoder, not decoder-only; positions are sinusoidal");
  EXPECT_FALSE(std::filesystem::exists(dir));  // nothing written
}

}  // namespace
}  // namespace weft::testing
