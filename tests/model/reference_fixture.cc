#include "reference_fixture.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "support/tensor_testing.h"
#include "weft/model/config_json.h"
#include "weft/model/factory.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

const std::string kParam = "param.";

std::set<std::string> split(const std::string& list) {
  std::set<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

}  // namespace

ReferenceFixture::ReferenceFixture(const std::string& file)
    : file_(load_safetensors(file.front() == '/' ? file
                                                 : std::string(WEFT_FIXTURES_DIR) + "/" + file)) {
  auto integer = [&](const char* key) { return std::stoll(meta(key)); };
  auto real = [&](const char* key) { return std::stod(meta(key)); };
  auto choice = [&](const char* key, const char* a, const char* b) {
    const std::string& v = meta(key);
    WEFT_CHECK(v == a || v == b, file_.path, ": metadata ", key, " is '", v, "', expected '", a,
               "' or '", b, "'");
    return v == a;
  };
  ModelConfig& c = config_;
  c.vocab_size = integer("vocab_size");
  c.d_model = integer("d_model");
  c.n_heads = integer("n_heads");
  c.d_ff = integer("d_ff");
  c.n_layers = integer("n_layers");
  c.n_encoder_layers = integer("n_encoder_layers");
  c.max_seq_len = integer("max_seq_len");
  c.norm = choice("norm", "pre", "post") ? NormPlacement::Pre : NormPlacement::Post;
  c.activation =
      choice("activation", "gelu", "relu") ? ops::Activation::GELU : ops::Activation::ReLU;
  // Words as config.json spells them; keys the LLaMA fixture added are
  // absent from the older ones, whose models had the defaults.
  auto word = [&](const char* key, auto fallback) {
    using Enum = decltype(fallback);
    const auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) return fallback;
    const std::optional<Enum> value = enum_from_name<Enum>(it->second);
    WEFT_CHECK(value.has_value(), file_.path, ": metadata ", key, " is '", it->second,
               "', not a word weft knows");
    return *value;
  };
  auto integer_or = [&](const char* key, int64_t fallback) {
    return file_.metadata.count(key) != 0 ? integer(key) : fallback;
  };
  c.architecture = word("architecture", Architecture::DecoderOnly);
  c.positions = word("positions", PositionEncoding::Learned);
  c.norm_type = word("norm_type", NormType::LayerNorm);
  c.ffn = word("ffn", FeedForwardType::MLP);
  c.n_kv_heads = integer_or("n_kv_heads", 0);
  c.bias = integer_or("bias", 1) != 0;
  if (file_.metadata.count("rope_theta") != 0) c.rope_theta = real("rope_theta");
  c.n_token_types = integer_or("n_token_types", 0);
  c.sep_id = static_cast<int32_t>(integer_or("sep_id", -1));
  c.tie_embeddings = integer("tie_embeddings") != 0;
  c.scale_embeddings = integer("scale_embeddings") != 0;
  c.label_smoothing = real("label_smoothing");
  c.norm_eps = real("norm_eps");
  c.pad_id = static_cast<int32_t>(integer("pad_id"));
  c.dropout = 0.0;

  optim_.lr = real("lr");
  optim_.beta1 = real("beta1");
  optim_.beta2 = real("beta2");
  optim_.eps = real("eps");
  optim_.weight_decay = real("weight_decay");
  optim_.max_grad_norm = real("max_grad_norm");
  optim_.steps = static_cast<int>(integer("steps"));

  if (c.architecture == Architecture::EncoderDecoder) batch_.source = at("source");
  batch_.input = at("input");
  batch_.target = at("target");
  tokens_ = static_cast<int64_t>(scalar("tokens"));
}

double ReferenceFixture::scalar(const std::string& name) const {
  const Tensor& t = at(name);
  WEFT_CHECK(t.numel() == 1, file_.path, ": ", name, " should hold one value, holds ",
             t.describe());
  return t.to_double_vector()[0];
}

::testing::AssertionResult ReferenceFixture::build(DType dtype,
                                                   std::unique_ptr<Model>& model) const {
  model = make_model(config_, LayerContext{dtype});
  std::set<std::string> in_fixture;
  for (const auto& [name, t] : file_.tensors) {
    if (name.rfind(kParam, 0) == 0) in_fixture.insert(name.substr(kParam.size()));
  }
  const std::set<std::string> decayed = split(meta("decay"));

  std::ostringstream problems;
  std::set<std::string> in_weft;
  for (Parameter* p : model->parameters()) {
    in_weft.insert(p->name);
    const Tensor* value = file_.find(kParam + p->name);
    if (!value) {
      problems << "\n  weft parameter " << p->name << " is missing from the fixture";
      continue;
    }
    if (value->shape() != p->value.shape()) {
      problems << "\n  " << p->name << ": weft shape " << shape_str(p->value.shape())
               << ", fixture " << shape_str(value->shape());
      continue;
    }
    if (p->weight_decay != (decayed.count(p->name) > 0)) {
      problems << "\n  " << p->name << ": weft has weight_decay=" << p->weight_decay
               << ", the fixture decays it: " << !p->weight_decay;
    }
    p->value.copy_from(converted(*value, dtype));
    p->grad.zero();
  }
  for (const std::string& name : in_fixture) {
    if (!in_weft.count(name)) problems << "\n  fixture parameter " << name << " is not in weft";
  }
  if (!problems.str().empty()) {
    return ::testing::AssertionFailure()
           << file_.path << ": parameters differ from weft's:" << problems.str();
  }
  return ::testing::AssertionSuccess();
}

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (double x : t.to_double_vector()) m = std::max(m, std::abs(x));
  return m;
}

::testing::AssertionResult matches_reference(const std::string& what, const Tensor& actual,
                                             const Tensor& expected, double rel, double floor) {
  const double scale = std::max(max_abs(expected), floor);
  ::testing::AssertionResult r = all_close(actual, expected, rel, rel * scale);
  if (!r)
    r << "\n  in " << what << " (tolerance rel " << rel << " × (|expected| + " << scale << "))";
  return r;
}

Tensor converted(const Tensor& t, DType dtype) {
  if (dtype == DType::F64 && t.dtype() == DType::F64) return t.clone();
  WEFT_CHECK(dtype == DType::F32, "converted: to ", dtype_name(dtype), " is not supported");
  return Tensor::from_vector(t.to_float_vector(), t.shape());
}

}  // namespace weft::testing
