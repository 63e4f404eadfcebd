// Export to Hugging Face BERT: names, shapes and values (copied as they are),
// config.json, and refusals of models BertForMaskedLM cannot express.
// tests/reference/write_hf_fixture.cc (with "bert") writes the fixture that
// tests/reference/check_hf_bert.py loads into transformers.

#include "weft/inference/export_hf_bert.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "inference_testing.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {
namespace {

ModelConfig bert_shaped() {
  ModelConfig c = model_preset("tiny-bert");
  c.vocab_size = 29, c.d_model = 16, c.n_heads = 4, c.d_ff = 24, c.n_layers = 2;
  c.max_seq_len = 20, c.pad_id = 0, c.sep_id = 2;
  return c;
}

TEST(HfBertExport, NamesShapesAndValuesFollowBert) {
  const ModelConfig c = bert_shaped();
  auto model = random_model(c, 1);
  const std::string dir = temp_dir("bert-layout");
  export_hf_bert(*model, dir);
  const SafetensorsFile file = load_safetensors(dir + "/model.safetensors");

  const int64_t d = 16, f = 24;
  ExportedCopies expected = {
      {"bert.embeddings.word_embeddings.weight", {29, d}, "encoder.embed_tokens.weight"},
      {"bert.embeddings.position_embeddings.weight", {20, d}, "encoder.embed_positions.weight"},
      {"bert.embeddings.token_type_embeddings.weight", {2, d}, "encoder.embed_segments.weight"},
      {"bert.embeddings.LayerNorm.weight", {d}, "encoder.embed_norm.weight"},
      {"bert.embeddings.LayerNorm.bias", {d}, "encoder.embed_norm.bias"},
      {"cls.predictions.transform.dense.weight", {d, d}, "mlm_head.transform.weight"},
      {"cls.predictions.transform.dense.bias", {d}, "mlm_head.transform.bias"},
      {"cls.predictions.transform.LayerNorm.weight", {d}, "mlm_head.norm.weight"},
      {"cls.predictions.transform.LayerNorm.bias", {d}, "mlm_head.norm.bias"},
      {"cls.predictions.bias", {29}, "mlm_head.decoder.bias"}};
  for (int i = 0; i < 2; ++i) {
    const std::string hf = "bert.encoder.layer." + std::to_string(i) + ".";
    const std::string w = "encoder.layers." + std::to_string(i) + ".";
    for (const auto& [to, shape, from] :
         ExportedCopies{
             {"attention.self.query.weight", {d, d}, "self_attn.q.weight"},
             {"attention.self.query.bias", {d}, "self_attn.q.bias"},
             {"attention.self.key.weight", {d, d}, "self_attn.k.weight"},
             {"attention.self.key.bias", {d}, "self_attn.k.bias"},
             {"attention.self.value.weight", {d, d}, "self_attn.v.weight"},
             {"attention.self.value.bias", {d}, "self_attn.v.bias"},
             {"attention.output.dense.weight", {d, d}, "self_attn.o.weight"},
             {"attention.output.dense.bias", {d}, "self_attn.o.bias"},
             {"attention.output.LayerNorm.weight", {d}, "self_attn.norm.weight"},
             {"attention.output.LayerNorm.bias", {d}, "self_attn.norm.bias"},
             {"intermediate.dense.weight", {f, d}, "ffn.fc1.weight"},
             {"intermediate.dense.bias", {f}, "ffn.fc1.bias"},
             {"output.dense.weight", {d, f}, "ffn.fc2.weight"},
             {"output.dense.bias", {d}, "ffn.fc2.bias"},
             {"output.LayerNorm.weight", {d}, "ffn.norm.weight"},
             {"output.LayerNorm.bias", {d}, "ffn.norm.bias"}}) {
      expected.emplace_back(hf + to, shape, w + from);
    }
  }
  expect_copied_exactly(*model, file, expected);
}

TEST(HfBertExport, ConfigJsonHasBertConfigFields) {
  const nlohmann::json j = nlohmann::json::parse(hf_bert_config_json(bert_shaped()));
  EXPECT_EQ(j["model_type"], "bert");
  EXPECT_EQ(j["architectures"][0], "BertForMaskedLM");
  EXPECT_EQ(j["vocab_size"], 29);
  EXPECT_EQ(j["hidden_size"], 16);
  EXPECT_EQ(j["num_hidden_layers"], 2);
  EXPECT_EQ(j["num_attention_heads"], 4);
  EXPECT_EQ(j["intermediate_size"], 24);
  EXPECT_EQ(j["hidden_act"], "gelu_new");
  EXPECT_EQ(j["max_position_embeddings"], 20);
  EXPECT_EQ(j["type_vocab_size"], 2);
  EXPECT_EQ(j["pad_token_id"], 0);
  EXPECT_EQ(j["tie_word_embeddings"], true);
}

TEST(HfBertExport, RefusesModelsThatAreNotBertShaped) {
  const auto refused = [](const std::function<void(ModelConfig&)>& change,
                          const std::string& needle) {
    ModelConfig c = bert_shaped();
    change(c);
    expect_refused([&] { check_bert_shaped(c); }, needle);
  };
  refused([](ModelConfig& c) { c.norm = NormPlacement::Pre; }, "pre-norm");
  refused([](ModelConfig& c) { c.positions = PositionEncoding::Sinusoidal; }, "not learned");
  refused([](ModelConfig& c) { c.activation = ops::Activation::ReLU; }, "ReLU, not GELU");
  refused([](ModelConfig& c) { c.bias = false; }, "no biases");

  auto gpt = tiny_model(model_preset("tiny-gpt"), 2);
  const std::string dir = temp_dir("bert-refused");
  expect_refused([&] { export_hf_bert(*gpt, dir); }, "BertForMaskedLM cannot express");
  EXPECT_FALSE(std::filesystem::exists(dir));  // nothing written
}

}  // namespace
}  // namespace weft::testing
