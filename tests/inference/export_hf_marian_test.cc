// Export to Hugging Face Marian: tensor names, shapes and values (every one
// against the weft parameter it comes from), config.json, the tokenizer
// files, and the refusal of models Marian's layout cannot express.
// tests/reference/check_hf_marian.py loads an export into transformers.

#include "weft/inference/export_hf_marian.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "inference_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {
namespace {

using nlohmann::json;

std::string corpus(uint32_t seed) {
  const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
                         "a",   "cat",   "sees",  "two", "birds", "on",   "one",  "tree"};
  std::string text;
  uint32_t state = seed;
  for (int line = 0; line < 300; ++line) {
    for (int w = 0; w < 6; ++w) {
      state = state * 1664525u + 1013904223u;
      text += words[(state >> 16) % 16];
      text += w < 5 ? " " : ".\n";
    }
  }
  return text;
}

std::shared_ptr<const Tokenizer> tokenizer(uint32_t seed, int64_t vocab) {
  SentencePieceOptions options;
  options.vocab_size = vocab;
  return train_sentencepiece(corpus(seed), options);
}

// tiny-encoder-decoder with Marian's sinusoids, every parameter random
// (biases and norm gains too), the vocabulary padded to show that the
// padding rows are left out.
ModelConfig marian_shaped(int64_t vocab, int64_t source_vocab, bool tie) {
  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.vocab_size = vocab, c.source_vocab_size = source_vocab, c.tie_embeddings = tie;
  c.d_model = 12, c.n_heads = 3, c.d_ff = 20, c.n_layers = 2, c.n_encoder_layers = 1;
  c.sinusoid_layout = ops::SinusoidLayout::Halves, c.pad_id = 0, c.vocab_multiple = 16;
  return c;
}

// weft parameter values by name, without the padding rows.
std::map<std::string, std::vector<double>> values_of(Model& model) {
  std::map<std::string, std::vector<double>> out;
  for (Parameter* p : model.parameters()) {
    out[p->name] =
        (p->padded_rows > 0 ? p->value.rows(0, p->real_rows()) : p->value).to_double_vector();
  }
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json read_json(const std::string& path) {
  return json::parse(read(path));
}

// Marian's name of each weft tensor (of a stack of `n` layers).
std::vector<std::pair<std::string, std::string>> layer_names(const std::string& stack, int n,
                                                             bool cross) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    const std::string weft = stack + ".layers." + std::to_string(i) + ".";
    const std::string hf = "model." + weft;
    std::vector<std::pair<std::string, std::string>> parts = {{"self_attn", "self_attn"}};
    if (cross) parts.emplace_back("encoder_attn", "cross_attn");
    for (const auto& [to, from] : parts) {
      for (const auto& [p, q] : std::vector<std::pair<std::string, std::string>>{
               {"q_proj", "q"}, {"k_proj", "k"}, {"v_proj", "v"}, {"out_proj", "o"}}) {
        out.emplace_back(hf + to + "." + p + ".weight", weft + from + "." + q + ".weight");
        out.emplace_back(hf + to + "." + p + ".bias", weft + from + "." + q + ".bias");
      }
      out.emplace_back(hf + to + "_layer_norm.weight", weft + from + ".norm.weight");
      out.emplace_back(hf + to + "_layer_norm.bias", weft + from + ".norm.bias");
    }
    for (const char* fc : {"fc1", "fc2"}) {
      out.emplace_back(hf + fc + ".weight", weft + "ffn." + fc + ".weight");
      out.emplace_back(hf + fc + ".bias", weft + "ffn." + fc + ".bias");
    }
    out.emplace_back(hf + "final_layer_norm.weight", weft + "ffn.norm.weight");
    out.emplace_back(hf + "final_layer_norm.bias", weft + "ffn.norm.bias");
  }
  return out;
}

// Every tensor of the export equals the weft parameter it names, and the
// export holds nothing else.
void expect_tensors_from(const SafetensorsFile& file, Model& model,
                         const std::vector<std::pair<std::string, std::string>>& expected) {
  auto w = values_of(model);
  ASSERT_EQ(file.tensors.size(), expected.size() + 1);  // + final_logits_bias
  std::set<std::string> names;
  for (const auto& [name, tensor] : file.tensors) {
    names.insert(name);
    EXPECT_EQ(tensor.dtype(), DType::F32) << name;
  }
  for (const auto& [hf, weft] : expected) {
    ASSERT_TRUE(names.count(hf)) << hf;
    ASSERT_TRUE(w.count(weft)) << weft;
    const Tensor& t = file.at(hf);
    Shape shape;
    for (Parameter* p : model.parameters()) {
      if (p->name == weft) shape = p->full_shape;
    }
    if (weft.find("embed_tokens") != std::string::npos || weft == "lm_head.weight") {
      shape[0] = static_cast<int64_t>(w[weft].size()) / shape[1];  // the real rows
    }
    EXPECT_EQ(t.shape(), shape) << hf;
    EXPECT_EQ(t.to_double_vector(), w[weft]) << hf << " is not " << weft;
  }
}

TEST(HfMarianExport, SharedVocabularyUntiedHead) {
  const auto tok = tokenizer(7, 60);
  const int64_t V = tok->vocab_size();
  const ModelConfig c = marian_shaped(V, 0, /*tie=*/false);
  auto model = random_model(c, 1);
  const std::string dir = temp_dir("marian-shared");
  export_hf_marian(*model, *tok, *tok, dir);

  const SafetensorsFile file = load_safetensors(dir + "/model.safetensors");
  EXPECT_EQ(file.meta("format"), "pt");
  std::vector<std::pair<std::string, std::string>> expected = {
      {"model.shared.weight", "decoder.embed_tokens.weight"},
      {"model.encoder.embed_tokens.weight", "decoder.embed_tokens.weight"},
      {"model.decoder.embed_tokens.weight", "decoder.embed_tokens.weight"},
      {"lm_head.weight", "lm_head.weight"}};
  for (const auto& names : {layer_names("encoder", 1, false), layer_names("decoder", 2, true)}) {
    expected.insert(expected.end(), names.begin(), names.end());
  }
  expect_tensors_from(file, *model, expected);
  EXPECT_EQ(file.at("model.shared.weight").shape(), (Shape{V, 12}));
  EXPECT_EQ(file.at("final_logits_bias").shape(), (Shape{1, V}));
  for (double b : file.at("final_logits_bias").to_double_vector()) EXPECT_EQ(b, 0.0);
  EXPECT_EQ(file.find("model.encoder.embed_positions.weight"), nullptr);  // Marian computes them

  const json config = read_json(dir + "/config.json");
  EXPECT_EQ(config["model_type"], "marian");
  EXPECT_EQ(config["architectures"][0], "MarianMTModel");
  EXPECT_EQ(config["vocab_size"], V);
  EXPECT_EQ(config["decoder_vocab_size"], V);
  EXPECT_EQ(config["share_encoder_decoder_embeddings"], true);
  EXPECT_EQ(config["tie_word_embeddings"], false);
  EXPECT_EQ(config["d_model"], 12);
  EXPECT_EQ(config["encoder_layers"], 1);
  EXPECT_EQ(config["decoder_layers"], 2);
  EXPECT_EQ(config["encoder_attention_heads"], 3);
  EXPECT_EQ(config["decoder_attention_heads"], 3);
  EXPECT_EQ(config["encoder_ffn_dim"], 20);
  EXPECT_EQ(config["decoder_ffn_dim"], 20);
  EXPECT_EQ(config["max_position_embeddings"], 32);
  EXPECT_EQ(config["activation_function"], "relu");
  EXPECT_EQ(config["scale_embedding"], true);
  EXPECT_EQ(config["normalize_before"], false);
  EXPECT_EQ(config["static_position_embeddings"], true);
  EXPECT_EQ(config["pad_token_id"], 0);
  EXPECT_EQ(config["eos_token_id"], 2);
  EXPECT_EQ(config["decoder_start_token_id"], 1);  // weft's BOS
  EXPECT_EQ(config["forced_eos_token_id"], 2);

  const json generation = read_json(dir + "/generation_config.json");
  EXPECT_EQ(generation["decoder_start_token_id"], 1);
  EXPECT_EQ(generation["eos_token_id"], 2);
  EXPECT_EQ(generation["pad_token_id"], 0);
  EXPECT_EQ(generation["max_length"], 33);  // 32 tokens after the start token
  EXPECT_EQ(generation["num_beams"], 1);

  // The tokenizer: weft's SentencePiece model as is, its pieces under their ids.
  const auto sp = sentencepiece_model(*tok);
  ASSERT_TRUE(sp);
  EXPECT_EQ(read(dir + "/source.spm"), sp->serialized);
  EXPECT_EQ(read(dir + "/target.spm"), sp->serialized);
  const json vocab = read_json(dir + "/vocab.json");
  ASSERT_EQ(static_cast<int64_t>(vocab.size()), V);
  for (int64_t id = 0; id < V; ++id) EXPECT_EQ(vocab[sp->pieces[id]], id) << sp->pieces[id];
  EXPECT_EQ(vocab["</s>"], 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/target_vocab.json"));
  const json tc = read_json(dir + "/tokenizer_config.json");
  EXPECT_EQ(tc["tokenizer_class"], "MarianTokenizer");
  EXPECT_EQ(tc["separate_vocabs"], false);
  EXPECT_EQ(tc["eos_token"], "</s>");
  EXPECT_EQ(tc["pad_token"], "<pad>");
  EXPECT_EQ(tc["unk_token"], "<unk>");
  EXPECT_TRUE(tc["source_lang"].is_null());
  std::filesystem::remove_all(dir);
}

TEST(HfMarianExport, SeparateVocabulariesTiedHead) {
  const auto source = tokenizer(11, 50), target = tokenizer(12, 70);
  const int64_t V = target->vocab_size(), Vs = source->vocab_size();
  ASSERT_NE(V, Vs);
  ModelConfig c = marian_shaped(V, Vs, /*tie=*/true);
  c.activation = ops::Activation::GELU;
  auto model = random_model(c, 2);
  const std::string dir = temp_dir("marian-separate");
  export_hf_marian(*model, *source, *target, dir, HfMarianOptions{"en", "de"});

  const SafetensorsFile file = load_safetensors(dir + "/model.safetensors");
  std::vector<std::pair<std::string, std::string>> expected = {
      {"model.encoder.embed_tokens.weight", "encoder.embed_tokens.weight"},
      {"model.decoder.embed_tokens.weight", "decoder.embed_tokens.weight"},
      {"lm_head.weight", "decoder.embed_tokens.weight"}};
  for (const auto& names : {layer_names("encoder", 1, false), layer_names("decoder", 2, true)}) {
    expected.insert(expected.end(), names.begin(), names.end());
  }
  expect_tensors_from(file, *model, expected);
  EXPECT_EQ(file.find("model.shared.weight"), nullptr);
  EXPECT_EQ(file.at("model.encoder.embed_tokens.weight").shape(), (Shape{Vs, 12}));
  EXPECT_EQ(file.at("final_logits_bias").shape(), (Shape{1, V}));

  const json config = read_json(dir + "/config.json");
  EXPECT_EQ(config["vocab_size"], Vs);
  EXPECT_EQ(config["decoder_vocab_size"], V);
  EXPECT_EQ(config["share_encoder_decoder_embeddings"], false);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["activation_function"], "gelu_new");  // GELU's tanh form, as weft's

  EXPECT_EQ(read(dir + "/source.spm"), sentencepiece_model(*source)->serialized);
  EXPECT_EQ(read(dir + "/target.spm"), sentencepiece_model(*target)->serialized);
  EXPECT_EQ(static_cast<int64_t>(read_json(dir + "/vocab.json").size()), Vs);
  EXPECT_EQ(static_cast<int64_t>(read_json(dir + "/target_vocab.json").size()), V);
  const json tc = read_json(dir + "/tokenizer_config.json");
  EXPECT_EQ(tc["separate_vocabs"], true);
  EXPECT_EQ(tc["source_lang"], "en");
  EXPECT_EQ(tc["target_lang"], "de");
  std::filesystem::remove_all(dir);
}

TEST(HfMarianExport, RefusesWhatMarianCannotExpress) {
  const auto refused = [](const std::function<void(ModelConfig&)>& change,
                          const std::string& needle) {
    ModelConfig c = marian_shaped(40, 0, true);
    change(c);
    expect_refused([&] { check_marian_shaped(c); }, needle);
  };
  EXPECT_NO_THROW(check_marian_shaped(marian_shaped(40, 0, true)));
  refused([](ModelConfig& c) { c.sinusoid_layout = ops::SinusoidLayout::Interleaved; },
          "model.sinusoid_layout = interleaved");
  refused([](ModelConfig& c) { c.positions = PositionEncoding::Learned; },
          "positions are learned (model.positions = learned)");
  refused([](ModelConfig& c) { c.norm = NormPlacement::Pre; }, "pre-norm (model.norm = pre)");
  refused([](ModelConfig& c) { c.norm_eps = 1e-6; },
          "the layer-norm eps is 1e-06 (model.norm_eps); Marian's is 1e-05");
  refused(
      [](ModelConfig& c) {
        c.architecture = Architecture::DecoderOnly;
        c.n_encoder_layers = 0;
      },
      "Marian's layout cannot express the model: it is decoder-only");
  // The presets as they are: transformer-base interleaves its sinusoids.
  expect_refused([] { check_marian_shaped(model_preset("transformer-base")); },
                 "model.sinusoid_layout = interleaved");

  // Tokenizers MarianTokenizer cannot read, or that do not fit the model.
  const auto tok = tokenizer(7, 60);
  const ModelConfig c = marian_shaped(tok->vocab_size(), 0, true);
  const auto chars = make_char_tokenizer("abc", true);
  expect_refused([&] { check_marian_tokenizers(c, *chars, *tok); },
                 "MarianTokenizer reads SentencePiece models, but the run's tokenizers are "
                 "'char' (source)");
  const auto other = tokenizer(8, 40);
  expect_refused([&] { check_marian_tokenizers(c, *other, *tok); }, "the source tokenizer has");

  auto interleaved = marian_shaped(tok->vocab_size(), 0, true);
  interleaved.sinusoid_layout = ops::SinusoidLayout::Interleaved;
  auto model = tiny_model(interleaved, 3);
  const std::string dir = temp_dir("marian-refused");
  expect_refused([&] { export_hf_marian(*model, *tok, *tok, dir); }, "model.sinusoid_layout");
  EXPECT_FALSE(std::filesystem::exists(dir));  // nothing written
}

}  // namespace
}  // namespace weft::testing
