#pragma once
// Export of a LLaMA-shaped decoder-only model in Hugging Face's form, so that
// `transformers.LlamaForCausalLM.from_pretrained(dir)` loads it:
//   config.json         LlamaConfig fields (hidden_size, intermediate_size,
//                       num_attention_heads, num_key_value_heads, rope_theta,
//                       rms_norm_eps, hidden_act "silu", ...)
//   model.safetensors   f32 tensors under LlamaForCausalLM's names:
//     model.embed_tokens.weight (V,d), lm_head.weight (V,d), model.norm.weight,
//     model.layers.{i}.input_layernorm.weight, post_attention_layernorm.weight,
//     self_attn.{q,k,v,o}_proj.weight, mlp.{gate,up,down}_proj.weight.
// Both store Linear weights (out, in), and weft rotates queries and keys in
// Hugging Face's rotate-half convention, so every tensor is copied as it is.

#include <string>
#include <utility>
#include <vector>

#include "weft/inference/export_hf.h"

namespace weft {

// Throws weft::Error naming every property of `config` LlamaForCausalLM
// cannot express (it needs: decoder-only, pre-norm RMS norms, rotary
// positions, SwiGLU, no biases, unscaled embeddings).
void check_llama_shaped(const ModelConfig& config);

// config.json's contents.
std::string hf_llama_config_json(const ModelConfig& config, const HfExportOptions& options = {});

// The HF tensors (host, f32) from full weft parameters by weft name. Throws
// weft::Error for a missing tensor or a wrong shape, naming it.
std::vector<std::pair<std::string, Tensor>> hf_llama_tensors(
    const ModelConfig& config, const std::map<std::string, Tensor>& weights);

// Writes out_dir/config.json and out_dir/model.safetensors (each replaced
// atomically). The model's parameters must be whole, not shards.
void export_hf_llama(Model& model, const std::string& out_dir,
                     const HfExportOptions& options = {});

}  // namespace weft
