#include "weft/model/config_json.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "weft/tensor/error.h"

namespace weft {

namespace {

using nlohmann::json;

// One field in both directions, so that writing and reading cannot drift apart.
struct Field {
  const char* key;
  std::function<json(const ModelConfig&)> write;
  std::function<void(ModelConfig&, const json&)> read;
  // A key added after checkpoints were first written: when absent, the
  // member keeps ModelConfig's default, what those checkpoints were trained with.
  bool optional = false;
};

Field optional(Field f) {
  f.optional = true;
  return f;
}

[[noreturn]] void refuse(const char* key, const std::string& expected, const json& got) {
  throw Error(std::string("model config: key '") + key + "' must be " + expected + ", got " +
              got.dump());
}

template <typename Int>
Field integer(const char* key, Int ModelConfig::*member) {
  return {key, [member](const ModelConfig& c) { return json(c.*member); },
          [key, member](ModelConfig& c, const json& v) {
            const std::string expected =
                std::string("an integer (") + (sizeof(Int) == 4 ? "32" : "64") + "-bit)";
            // Unsigned values above INT64_MAX would wrap in get<int64_t>().
            if (!v.is_number_integer() ||
                (v.is_number_unsigned() &&
                 v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
              refuse(key, expected, v);
            }
            const int64_t x = v.get<int64_t>();
            if (x < std::numeric_limits<Int>::min() || x > std::numeric_limits<Int>::max()) {
              refuse(key, expected, v);
            }
            c.*member = static_cast<Int>(x);
          }};
}

Field real(const char* key, double ModelConfig::*member) {
  return {key, [member](const ModelConfig& c) { return json(c.*member); },
          [key, member](ModelConfig& c, const json& v) {
            if (!v.is_number()) refuse(key, "a number", v);
            c.*member = v.get<double>();
          }};
}

Field boolean(const char* key, bool ModelConfig::*member) {
  return {key, [member](const ModelConfig& c) { return json(c.*member); },
          [key, member](ModelConfig& c, const json& v) {
            if (!v.is_boolean()) refuse(key, "true or false", v);
            c.*member = v.get<bool>();
          }};
}

template <typename Enum>
Field word(const char* key, Enum ModelConfig::*member) {
  return {key,
          [key, member](const ModelConfig& c) {
            const char* name = enum_name(c.*member);
            if (name == nullptr) {
              throw Error(std::string("model config: key '") + key + "' holds an enum value " +
                          "with no name");
            }
            return json(name);
          },
          [key, member](ModelConfig& c, const json& v) {
            if (v.is_string()) {
              if (const auto value = enum_from_name<Enum>(v.get<std::string>())) {
                c.*member = *value;
                return;
              }
            }
            std::string expected;
            for (const auto& [value, name] : enum_names<Enum>()) {
              expected += (expected.empty() ? "\"" : " or \"") + std::string(name) + "\"";
            }
            refuse(key, expected, v);
          }};
}

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
      word("architecture", &ModelConfig::architecture),
      integer("vocab_size", &ModelConfig::vocab_size),
      integer("source_vocab_size", &ModelConfig::source_vocab_size),
      integer("d_model", &ModelConfig::d_model),
      integer("n_heads", &ModelConfig::n_heads),
      integer("d_ff", &ModelConfig::d_ff),
      integer("n_layers", &ModelConfig::n_layers),
      integer("n_encoder_layers", &ModelConfig::n_encoder_layers),
      integer("max_seq_len", &ModelConfig::max_seq_len),
      word("norm", &ModelConfig::norm),
      word("activation", &ModelConfig::activation),
      word("positions", &ModelConfig::positions),
      boolean("tie_embeddings", &ModelConfig::tie_embeddings),
      boolean("scale_embeddings", &ModelConfig::scale_embeddings),
      real("dropout", &ModelConfig::dropout),
      real("label_smoothing", &ModelConfig::label_smoothing),
      real("norm_eps", &ModelConfig::norm_eps),
      real("init_std", &ModelConfig::init_std),
      integer("pad_id", &ModelConfig::pad_id),
      optional(integer("vocab_multiple", &ModelConfig::vocab_multiple)),
      optional(word("sinusoid_layout", &ModelConfig::sinusoid_layout)),
  };
  return all;
}

}  // namespace

template <>
const EnumNames<Architecture>& enum_names<Architecture>() {
  static const EnumNames<Architecture> names = {{Architecture::DecoderOnly, "decoder-only"},
                                                {Architecture::EncoderDecoder, "encoder-decoder"},
                                                {Architecture::EncoderOnly, "encoder-only"}};
  return names;
}

template <>
const EnumNames<NormPlacement>& enum_names<NormPlacement>() {
  static const EnumNames<NormPlacement> names = {{NormPlacement::Pre, "pre"},
                                                 {NormPlacement::Post, "post"}};
  return names;
}

template <>
const EnumNames<ops::Activation>& enum_names<ops::Activation>() {
  static const EnumNames<ops::Activation> names = {{ops::Activation::ReLU, "relu"},
                                                   {ops::Activation::GELU, "gelu"}};
  return names;
}

template <>
const EnumNames<PositionEncoding>& enum_names<PositionEncoding>() {
  static const EnumNames<PositionEncoding> names = {{PositionEncoding::Learned, "learned"},
                                                    {PositionEncoding::Sinusoidal, "sinusoidal"}};
  return names;
}

template <>
const EnumNames<ops::SinusoidLayout>& enum_names<ops::SinusoidLayout>() {
  static const EnumNames<ops::SinusoidLayout> names = {
      {ops::SinusoidLayout::Interleaved, "interleaved"}, {ops::SinusoidLayout::Halves, "halves"}};
  return names;
}

json to_json(const ModelConfig& config) {
  json out = json::object();
  for (const Field& f : fields()) out[f.key] = f.write(config);
  return out;
}

ModelConfig model_config_from_json(const json& in) {
  if (!in.is_object()) throw Error("model config: must be a JSON object, got " + in.dump());
  for (auto it = in.begin(); it != in.end(); ++it) {
    bool known = false;
    for (const Field& f : fields()) known = known || it.key() == f.key;
    if (!known) throw Error("model config: unknown key '" + it.key() + "'");
  }
  ModelConfig config;
  for (const Field& f : fields()) {
    auto it = in.find(f.key);
    if (it == in.end() && f.optional) continue;
    if (it == in.end()) throw Error(std::string("model config: missing key '") + f.key + "'");
    f.read(config, *it);
  }
  return config;
}

}  // namespace weft
