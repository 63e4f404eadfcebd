#pragma once
// Export of a GPT-2-shaped decoder-only model in Hugging Face's form, so that
// `transformers.GPT2LMHeadModel.from_pretrained(dir)` loads it:
//   config.json         GPT2Config fields (vocab_size, n_positions, n_embd,
//                       n_layer, n_head, n_inner, activation_function "gelu_new",
//                       layer_norm_epsilon, ...)
//   model.safetensors   f32 tensors under GPT2Model's names and layout:
//     wte.weight (V,d), wpe.weight (n_positions,d), ln_f.{weight,bias} (d),
//     h.{i}.ln_1.{weight,bias}, h.{i}.ln_2.{weight,bias} (d),
//     h.{i}.attn.c_attn.weight (d,3d) = [Wq;Wk;Wv]ᵀ, c_attn.bias (3d) = [bq;bk;bv],
//     h.{i}.attn.c_proj.weight (d,d) = Woᵀ, h.{i}.mlp.c_fc.weight (d,d_ff) = W1ᵀ,
//     h.{i}.mlp.c_proj.weight (d_ff,d) = W2ᵀ, with their biases.
// HF's Conv1D stores weights (in, out), the transpose of weft's Linear
// (out, in). The output projection is tied to wte, as in GPT-2.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weft/model/model.h"

namespace weft {

struct HfExportOptions {
  std::optional<int32_t> bos_id;  // written to config.json when set
  std::optional<int32_t> eos_id;
};

// Throws weft::Error naming every property of `config` that GPT-2 does not
// have (GPT-2: decoder-only, learned positions, pre-norm, GELU, tied output
// projection, unscaled embeddings).
void check_gpt2_shaped(const ModelConfig& config);

// config.json's contents.
std::string hf_gpt2_config_json(const ModelConfig& config, const HfExportOptions& options = {});

// The HF tensors (host, f32) from full weft parameters by weft name, e.g.
// "decoder.layers.0.self_attn.q.weight". Throws weft::Error for a missing
// tensor or a wrong shape, naming it.
std::vector<std::pair<std::string, Tensor>> hf_gpt2_tensors(
    const ModelConfig& config, const std::map<std::string, Tensor>& weights);

// Writes out_dir/config.json and out_dir/model.safetensors (creating out_dir;
// each file replaced atomically). The model's parameters must be whole, not
// tensor-parallel shards.
void export_hf_gpt2(Model& model, const std::string& out_dir, const HfExportOptions& options = {});

}  // namespace weft
