#pragma once
// Export of a BERT-shaped encoder-only model in Hugging Face's form, so that
// `transformers.BertForMaskedLM.from_pretrained(dir)` loads it:
//   config.json         BertConfig fields (hidden_size, num_hidden_layers,
//                       num_attention_heads, intermediate_size, type_vocab_size,
//                       hidden_act "gelu_new": GELU's tanh form, as weft's)
//   model.safetensors   f32 tensors under BertForMaskedLM's names:
//     bert.embeddings.{word,position,token_type}_embeddings.weight,
//     bert.embeddings.LayerNorm.{weight,bias},
//     bert.encoder.layer.{i}.attention.self.{query,key,value}.{weight,bias},
//     ….attention.output.dense, ….attention.output.LayerNorm,
//     ….intermediate.dense, ….output.dense, ….output.LayerNorm,
//     cls.predictions.transform.dense, cls.predictions.transform.LayerNorm,
//     cls.predictions.bias (the decoder's weight is the word embeddings').
// Both store Linear weights (out, in): every tensor is copied as it is.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/inference/export_hf.h"

namespace weft {

// Throws weft::Error naming every property of `config` BertForMaskedLM
// cannot express (it needs: encoder-only, post-norm layer norms, learned
// positions, an MLP with GELU, biases, multi-head attention, unscaled
// embeddings).
void check_bert_shaped(const ModelConfig& config);

// config.json's contents.
std::string hf_bert_config_json(const ModelConfig& config);

// The HF tensors (host, f32) from full weft parameters by weft name. Throws
// weft::Error for a missing tensor or a wrong shape, naming it.
std::vector<std::pair<std::string, Tensor>> hf_bert_tensors(
    const ModelConfig& config, const std::map<std::string, Tensor>& weights);

// Writes out_dir/config.json and out_dir/model.safetensors (each replaced
// atomically). The model's parameters must be whole, not shards.
void export_hf_bert(Model& model, const std::string& out_dir);

}  // namespace weft
