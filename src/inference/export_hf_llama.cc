#include "weft/inference/export_hf_llama.h"

#include <nlohmann/json.hpp>

#include "inference/export_weights.h"
#include "weft/tensor/error.h"

namespace weft {

void check_llama_shaped(const ModelConfig& c) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (c.architecture != Architecture::DecoderOnly) add("it is not decoder-only");
  if (c.norm != NormPlacement::Pre) add("norms are post-norm (model.norm), not pre-norm");
  if (c.norm_type != NormType::RMSNorm) add("norms are layer norms (model.norm_type), not RMS");
  if (c.positions != PositionEncoding::Rotary) add("positions are not rotary (model.positions)");
  if (c.ffn != FeedForwardType::SwiGLU) add("the feed-forward is not SwiGLU (model.ffn)");
  if (c.bias) add("the projections have biases (model.bias)");
  if (c.scale_embeddings) add("embeddings are scaled by sqrt(d_model)");
  WEFT_CHECK(problems.empty(), "export hf-llama: LlamaForCausalLM cannot express the model: ",
             problems);
}

std::string hf_llama_config_json(const ModelConfig& c, const HfExportOptions& options) {
  check_llama_shaped(c);
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.d_model;
  j["intermediate_size"] = c.d_ff;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.kv_heads();
  j["head_dim"] = c.head_dim();
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_seq_len;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = nullptr;
  j["attention_bias"] = false;
  j["mlp_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["initializer_range"] = c.init_std;
  j["tie_word_embeddings"] = c.tie_embeddings;
  j["use_cache"] = true;
  // null, not absent: LlamaConfig would default them to LLaMA's 1 and 2.
  j["bos_token_id"] = options.bos_id ? nlohmann::ordered_json(*options.bos_id) : nullptr;
  j["eos_token_id"] = options.eos_id ? nlohmann::ordered_json(*options.eos_id) : nullptr;
  if (c.pad_id >= 0) j["pad_token_id"] = c.pad_id;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

std::vector<std::pair<std::string, Tensor>> hf_llama_tensors(
    const ModelConfig& c, const std::map<std::string, Tensor>& w) {
  check_llama_shaped(c);
  const int64_t d = c.d_model, f = c.d_ff, kv = c.kv_heads() * c.head_dim();
  const auto fetch = [&](const std::string& name, const Shape& shape) {
    return detail::host_f32(w, name, shape, "hf-llama");
  };
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("model.embed_tokens.weight",
                   fetch("decoder.embed_tokens.weight", {c.vocab_size, d}));
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string from = "decoder.layers." + std::to_string(i) + ".";
    const std::string to = "model.layers." + std::to_string(i) + ".";
    out.emplace_back(to + "input_layernorm.weight", fetch(from + "self_attn.norm.weight", {d}));
    out.emplace_back(to + "self_attn.q_proj.weight", fetch(from + "self_attn.q.weight", {d, d}));
    out.emplace_back(to + "self_attn.k_proj.weight", fetch(from + "self_attn.k.weight", {kv, d}));
    out.emplace_back(to + "self_attn.v_proj.weight", fetch(from + "self_attn.v.weight", {kv, d}));
    out.emplace_back(to + "self_attn.o_proj.weight", fetch(from + "self_attn.o.weight", {d, d}));
    out.emplace_back(to + "post_attention_layernorm.weight", fetch(from + "ffn.norm.weight", {d}));
    out.emplace_back(to + "mlp.gate_proj.weight", fetch(from + "ffn.gate.weight", {f, d}));
    out.emplace_back(to + "mlp.up_proj.weight", fetch(from + "ffn.up.weight", {f, d}));
    out.emplace_back(to + "mlp.down_proj.weight", fetch(from + "ffn.down.weight", {d, f}));
  }
  out.emplace_back("model.norm.weight", fetch("decoder.final_norm.weight", {d}));
  const std::string head = c.tie_embeddings ? "decoder.embed_tokens.weight" : "lm_head.weight";
  out.emplace_back("lm_head.weight", fetch(head, {c.vocab_size, d}));
  return out;
}

void export_hf_llama(Model& model, const std::string& out_dir, const HfExportOptions& options) {
  const ModelConfig& c = model.config();
  check_llama_shaped(c);
  detail::write_hf_model(out_dir, "hf-llama", hf_llama_config_json(c, options),
                         hf_llama_tensors(c, detail::whole_weights(model, "hf-llama")));
}

}  // namespace weft
