#include "weft/inference/export_hf.h"

#include <nlohmann/json.hpp>

#include "inference/export_weights.h"
#include "weft/tensor/error.h"

namespace weft {

void check_gpt2_shaped(const ModelConfig& c) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (c.architecture != Architecture::DecoderOnly) {
    add(std::string("it is an ") + architecture_name(c.architecture) + ", not decoder-only");
  }
  if (c.positions != PositionEncoding::Learned) {
    add(std::string("positions are ") +
        (c.positions == PositionEncoding::Sinusoidal ? "sinusoidal" : "rotary") + ", not learned");
  }
  if (c.norm != NormPlacement::Pre) add("layer norms are post-norm, not pre-norm");
  if (c.norm_type != NormType::LayerNorm) add("norms are RMS norms, not layer norms");
  if (c.ffn != FeedForwardType::MLP) add("the feed-forward is SwiGLU, not an MLP");
  if (c.activation != ops::Activation::GELU) add("the activation is ReLU, not GELU");
  if (c.kv_heads() != c.n_heads) add("attention is grouped-query (model.n_kv_heads)");
  if (!c.bias) add("the projections have no biases (model.bias)");
  if (!c.tie_embeddings) add("the output projection is not tied to the embedding");
  if (c.scale_embeddings) add("embeddings are scaled by sqrt(d_model)");
  WEFT_CHECK(problems.empty(), "export hf-gpt2: the model is not GPT-2-shaped: ", problems);
}

std::string hf_gpt2_config_json(const ModelConfig& c, const HfExportOptions& options) {
  check_gpt2_shaped(c);
  nlohmann::ordered_json j;
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  j["vocab_size"] = c.vocab_size;
  j["n_positions"] = c.max_seq_len;
  j["n_ctx"] = c.max_seq_len;
  j["n_embd"] = c.d_model;
  j["n_layer"] = c.n_layers;
  j["n_head"] = c.n_heads;
  j["n_inner"] = c.d_ff;
  j["activation_function"] = "gelu_new";  // GELU's tanh form, as weft computes it
  j["layer_norm_epsilon"] = c.norm_eps;
  j["initializer_range"] = c.init_std;
  j["embd_pdrop"] = c.dropout;
  j["resid_pdrop"] = c.dropout;
  j["attn_pdrop"] = 0.0;  // weft drops no attention probabilities
  j["scale_attn_weights"] = true;
  j["scale_attn_by_inverse_layer_idx"] = false;
  j["reorder_and_upcast_attn"] = false;
  j["tie_word_embeddings"] = true;
  j["use_cache"] = true;
  // null, not absent: GPT2Config would default both to GPT-2's 50256.
  j["bos_token_id"] = options.bos_id ? nlohmann::ordered_json(*options.bos_id) : nullptr;
  j["eos_token_id"] = options.eos_id ? nlohmann::ordered_json(*options.eos_id) : nullptr;
  if (c.pad_id >= 0) j["pad_token_id"] = c.pad_id;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

namespace {

Tensor fetch(const std::map<std::string, Tensor>& weights, const std::string& name,
             const Shape& shape) {
  return detail::host_f32(weights, name, shape, "hf-gpt2");
}

// Rows of the (rows, cols) matrices stacked, then transposed: out (cols, Σ rows).
Tensor stack_transposed(const std::vector<Tensor>& parts) {
  const int64_t cols = parts[0].dim(1);
  int64_t rows = 0;
  for (const Tensor& p : parts) rows += p.dim(0);
  Tensor out = Tensor::empty({cols, rows}, DType::F32);
  float* o = out.data<float>();
  int64_t r0 = 0;
  for (const Tensor& p : parts) {
    const float* in = p.data<float>();
    for (int64_t r = 0; r < p.dim(0); ++r) {
      for (int64_t c = 0; c < cols; ++c) o[c * rows + r0 + r] = in[r * cols + c];
    }
    r0 += p.dim(0);
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& parts) {
  int64_t n = 0;
  for (const Tensor& p : parts) n += p.numel();
  Tensor out = Tensor::empty({n}, DType::F32);
  float* o = out.data<float>();
  for (const Tensor& p : parts) o = std::copy(p.data<float>(), p.data<float>() + p.numel(), o);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> hf_gpt2_tensors(
    const ModelConfig& c, const std::map<std::string, Tensor>& w) {
  check_gpt2_shaped(c);
  const int64_t d = c.d_model, f = c.d_ff;
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("wte.weight", fetch(w, "decoder.embed_tokens.weight", {c.vocab_size, d}));
  out.emplace_back("wpe.weight", fetch(w, "decoder.embed_positions.weight", {c.max_seq_len, d}));
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string from = "decoder.layers." + std::to_string(i) + ".";
    const std::string to = "h." + std::to_string(i) + ".";
    const auto vec = [&](const std::string& name, int64_t n) { return fetch(w, from + name, {n}); };
    const auto mat = [&](const std::string& name, int64_t rows, int64_t cols) {
      return fetch(w, from + name, {rows, cols});
    };
    out.emplace_back(to + "ln_1.weight", vec("self_attn.norm.weight", d));
    out.emplace_back(to + "ln_1.bias", vec("self_attn.norm.bias", d));
    out.emplace_back(
        to + "attn.c_attn.weight",
        stack_transposed({mat("self_attn.q.weight", d, d), mat("self_attn.k.weight", d, d),
                          mat("self_attn.v.weight", d, d)}));
    out.emplace_back(to + "attn.c_attn.bias",
                     concat({vec("self_attn.q.bias", d), vec("self_attn.k.bias", d),
                             vec("self_attn.v.bias", d)}));
    out.emplace_back(to + "attn.c_proj.weight",
                     stack_transposed({mat("self_attn.o.weight", d, d)}));
    out.emplace_back(to + "attn.c_proj.bias", vec("self_attn.o.bias", d));
    out.emplace_back(to + "ln_2.weight", vec("ffn.norm.weight", d));
    out.emplace_back(to + "ln_2.bias", vec("ffn.norm.bias", d));
    out.emplace_back(to + "mlp.c_fc.weight", stack_transposed({mat("ffn.fc1.weight", f, d)}));
    out.emplace_back(to + "mlp.c_fc.bias", vec("ffn.fc1.bias", f));
    out.emplace_back(to + "mlp.c_proj.weight", stack_transposed({mat("ffn.fc2.weight", d, f)}));
    out.emplace_back(to + "mlp.c_proj.bias", vec("ffn.fc2.bias", d));
  }
  out.emplace_back("ln_f.weight", fetch(w, "decoder.final_norm.weight", {d}));
  out.emplace_back("ln_f.bias", fetch(w, "decoder.final_norm.bias", {d}));
  return out;
}

void export_hf_gpt2(Model& model, const std::string& out_dir, const HfExportOptions& options) {
  const ModelConfig& c = model.config();
  check_gpt2_shaped(c);
  detail::write_hf_model(out_dir, "hf-gpt2", hf_gpt2_config_json(c, options),
                         hf_gpt2_tensors(c, detail::whole_weights(model, "hf-gpt2")));
}

}  // namespace weft
