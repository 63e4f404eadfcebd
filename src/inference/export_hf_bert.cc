#include "weft/inference/export_hf_bert.h"

#include <nlohmann/json.hpp>

#include "inference/export_weights.h"
#include "weft/tensor/error.h"

namespace weft {

void check_bert_shaped(const ModelConfig& c) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (c.architecture != Architecture::EncoderOnly) add("it is not encoder-only");
  if (c.norm != NormPlacement::Post) add("norms are pre-norm (model.norm), not post-norm");
  if (c.norm_type != NormType::LayerNorm) add("norms are RMS norms (model.norm_type)");
  if (c.positions != PositionEncoding::Learned) add("positions are not learned (model.positions)");
  if (c.ffn != FeedForwardType::MLP) add("the feed-forward is SwiGLU (model.ffn)");
  if (c.activation != ops::Activation::GELU) add("the activation is ReLU, not GELU");
  if (!c.bias) add("the projections have no biases (model.bias)");
  if (c.kv_heads() != c.n_heads) add("attention is grouped-query (model.n_kv_heads)");
  if (c.scale_embeddings) add("embeddings are scaled by sqrt(d_model)");
  WEFT_CHECK(problems.empty(), "export hf-bert: BertForMaskedLM cannot express the model: ",
             problems);
}

std::string hf_bert_config_json(const ModelConfig& c) {
  check_bert_shaped(c);
  nlohmann::ordered_json j;
  j["architectures"] = {"BertForMaskedLM"};
  j["model_type"] = "bert";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.d_model;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["intermediate_size"] = c.d_ff;
  j["hidden_act"] = "gelu_new";  // GELU's tanh form, as weft computes it
  j["hidden_dropout_prob"] = c.dropout;
  j["attention_probs_dropout_prob"] = 0.0;  // weft drops no attention probabilities
  j["max_position_embeddings"] = c.max_seq_len;
  // BertModel always has the table; a model without segments has one row of zeros.
  j["type_vocab_size"] = std::max<int64_t>(1, c.n_token_types);
  j["layer_norm_eps"] = c.norm_eps;
  j["initializer_range"] = c.init_std;
  j["position_embedding_type"] = "absolute";
  j["tie_word_embeddings"] = true;
  j["pad_token_id"] = c.pad_id >= 0 ? c.pad_id : 0;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

std::vector<std::pair<std::string, Tensor>> hf_bert_tensors(
    const ModelConfig& c, const std::map<std::string, Tensor>& w) {
  check_bert_shaped(c);
  const int64_t d = c.d_model, f = c.d_ff;
  const auto fetch = [&](const std::string& name, const Shape& shape) {
    return detail::host_f32(w, name, shape, "hf-bert");
  };
  std::vector<std::pair<std::string, Tensor>> out;
  const auto linear = [&](const std::string& to, const std::string& from, int64_t n_out,
                          int64_t n_in) {
    out.emplace_back(to + ".weight", fetch(from + ".weight", {n_out, n_in}));
    out.emplace_back(to + ".bias", fetch(from + ".bias", {n_out}));
  };
  const auto norm = [&](const std::string& to, const std::string& from) {
    out.emplace_back(to + ".weight", fetch(from + ".weight", {d}));
    out.emplace_back(to + ".bias", fetch(from + ".bias", {d}));
  };
  out.emplace_back("bert.embeddings.word_embeddings.weight",
                   fetch("encoder.embed_tokens.weight", {c.vocab_size, d}));
  out.emplace_back("bert.embeddings.position_embeddings.weight",
                   fetch("encoder.embed_positions.weight", {c.max_seq_len, d}));
  out.emplace_back("bert.embeddings.token_type_embeddings.weight",
                   c.n_token_types > 0
                       ? fetch("encoder.embed_segments.weight", {c.n_token_types, d})
                       : Tensor::zeros({1, d}, DType::F32));
  norm("bert.embeddings.LayerNorm", "encoder.embed_norm");
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string from = "encoder.layers." + std::to_string(i) + ".";
    const std::string to = "bert.encoder.layer." + std::to_string(i) + ".";
    linear(to + "attention.self.query", from + "self_attn.q", d, d);
    linear(to + "attention.self.key", from + "self_attn.k", d, d);
    linear(to + "attention.self.value", from + "self_attn.v", d, d);
    linear(to + "attention.output.dense", from + "self_attn.o", d, d);
    norm(to + "attention.output.LayerNorm", from + "self_attn.norm");
    linear(to + "intermediate.dense", from + "ffn.fc1", f, d);
    linear(to + "output.dense", from + "ffn.fc2", d, f);
    norm(to + "output.LayerNorm", from + "ffn.norm");
  }
  linear("cls.predictions.transform.dense", "mlm_head.transform", d, d);
  norm("cls.predictions.transform.LayerNorm", "mlm_head.norm");
  out.emplace_back("cls.predictions.bias", fetch("mlm_head.decoder.bias", {c.vocab_size}));
  return out;
}

void export_hf_bert(Model& model, const std::string& out_dir) {
  const ModelConfig& c = model.config();
  check_bert_shaped(c);
  detail::write_hf_model(out_dir, "hf-bert", hf_bert_config_json(c),
                         hf_bert_tensors(c, detail::whole_weights(model, "hf-bert")));
}

}  // namespace weft
