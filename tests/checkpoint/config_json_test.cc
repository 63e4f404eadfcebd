// ModelConfig <-> JSON: every preset survives a round trip (through text
// too), enums are written as words, and bad input is refused by key.

#include "weft/model/config_json.h"

#include <gtest/gtest.h>

#include "checkpoint_testing.h"

namespace weft {
namespace {

using nlohmann::json;
using testing::error_of;

void expect_same(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.source_vocab_size, b.source_vocab_size);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.d_ff, b.d_ff);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.n_encoder_layers, b.n_encoder_layers);
  EXPECT_EQ(a.max_seq_len, b.max_seq_len);
  EXPECT_EQ(a.norm, b.norm);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.positions, b.positions);
  EXPECT_EQ(a.tie_embeddings, b.tie_embeddings);
  EXPECT_EQ(a.scale_embeddings, b.scale_embeddings);
  EXPECT_EQ(a.dropout, b.dropout);
  EXPECT_EQ(a.label_smoothing, b.label_smoothing);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.init_std, b.init_std);
  EXPECT_EQ(a.pad_id, b.pad_id);
  EXPECT_EQ(a.vocab_multiple, b.vocab_multiple);
  EXPECT_EQ(a.sinusoid_layout, b.sinusoid_layout);
}

TEST(ConfigJson, EveryPresetRoundTrips) {
  for (const char* name : {"gpt2-124m", "transformer-base", "gpt-shakespeare-char", "tiny-gpt",
                           "tiny-encoder-decoder"}) {
    SCOPED_TRACE(name);
    const ModelConfig c = model_preset(name);
    expect_same(model_config_from_json(to_json(c)), c);
    expect_same(model_config_from_json(json::parse(to_json(c).dump(2))), c);
  }
}

TEST(ConfigJson, EveryFieldIsWrittenByName) {
  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.source_vocab_size = 41, c.pad_id = 3, c.tie_embeddings = false, c.dropout = 0.1;
  c.vocab_multiple = 64;
  c.sinusoid_layout = ops::SinusoidLayout::Halves;
  c.init_std = 1.0 / 3.0;  // not exact in decimal: must round-trip to the same double
  const json j = to_json(c);
  EXPECT_EQ(j.size(), 21u);
  EXPECT_EQ(j["architecture"], "encoder-decoder");
  EXPECT_EQ(j["norm"], "post");
  EXPECT_EQ(j["activation"], "relu");
  EXPECT_EQ(j["positions"], "sinusoidal");
  EXPECT_EQ(j["sinusoid_layout"], "halves");
  EXPECT_EQ(j["source_vocab_size"], 41);
  EXPECT_EQ(j["pad_id"], 3);
  EXPECT_EQ(j["tie_embeddings"], false);
  expect_same(model_config_from_json(json::parse(j.dump())), c);

  const json gpt = to_json(model_preset("tiny-gpt"));
  EXPECT_EQ(gpt["architecture"], "decoder-only");
  EXPECT_EQ(gpt["norm"], "pre");
  EXPECT_EQ(gpt["activation"], "gelu");
  EXPECT_EQ(gpt["positions"], "learned");
}

TEST(ConfigJson, RefusesUnknownMissingAndMistypedKeysByName) {
  const json good = to_json(model_preset("tiny-gpt"));
  auto refusal = [&](const std::string& key, const json& value) {
    json j = good;
    j[key] = value;
    return error_of([&] { model_config_from_json(j); });
  };
  EXPECT_EQ(refusal("d_modle", 16), "model config: unknown key 'd_modle'");
  EXPECT_EQ(refusal("d_model", "16"),
            "model config: key 'd_model' must be an integer (64-bit), got \"16\"");
  EXPECT_EQ(refusal("n_heads", 2.5),
            "model config: key 'n_heads' must be an integer (64-bit), got 2.5");
  EXPECT_EQ(refusal("pad_id", int64_t{1} << 40),
            "model config: key 'pad_id' must be an integer (32-bit), got 1099511627776");
  EXPECT_EQ(refusal("vocab_size", uint64_t{1} << 63),
            "model config: key 'vocab_size' must be an integer (64-bit), got 9223372036854775808");
  EXPECT_EQ(refusal("tie_embeddings", 1),
            "model config: key 'tie_embeddings' must be true or false, got 1");
  EXPECT_EQ(refusal("dropout", "0.1"), "model config: key 'dropout' must be a number, got \"0.1\"");
  EXPECT_EQ(refusal("norm", "middle"),
            "model config: key 'norm' must be \"pre\" or \"post\", got \"middle\"");
  EXPECT_EQ(refusal("architecture", "decoder"),
            "model config: key 'architecture' must be \"decoder-only\" or \"encoder-decoder\" or "
            "\"encoder-only\", got \"decoder\"");
  EXPECT_EQ(refusal("activation", nullptr),
            "model config: key 'activation' must be \"relu\" or \"gelu\", got null");

  json missing = good;
  missing.erase("positions");
  EXPECT_EQ(error_of([&] { model_config_from_json(missing); }),
            "model config: missing key 'positions'");
  // Added later: a manifest without it was written by an unpadded model.
  json before_padding = good;
  before_padding.erase("vocab_multiple");
  EXPECT_EQ(model_config_from_json(before_padding).vocab_multiple, 1);
  json padded = good;
  padded["vocab_multiple"] = 128;
  EXPECT_EQ(model_config_from_json(padded).vocab_multiple, 128);
  // Added later: a manifest without it was written with interleaved sinusoids.
  json before_layouts = good;
  before_layouts.erase("sinusoid_layout");
  EXPECT_EQ(model_config_from_json(before_layouts).sinusoid_layout,
            ops::SinusoidLayout::Interleaved);
  EXPECT_EQ(refusal("sinusoid_layout", "split"),
            "model config: key 'sinusoid_layout' must be \"interleaved\" or \"halves\", got "
            "\"split\"");
  EXPECT_EQ(error_of([&] { model_config_from_json(json::array()); }),
            "model config: must be a JSON object, got []");
  // Integers are accepted where a double is expected: "dropout": 0 is a number.
  json integral = good;
  integral["dropout"] = 0;
  EXPECT_EQ(model_config_from_json(integral).dropout, 0.0);
}

}  // namespace
}  // namespace weft
