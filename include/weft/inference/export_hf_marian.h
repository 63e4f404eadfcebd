#pragma once
// Export of a 2017 encoder-decoder in Hugging Face's Marian form, so that
// `transformers.MarianMTModel.from_pretrained(dir)` and
// `MarianTokenizer.from_pretrained(dir)` load it:
//   config.json             MarianConfig (d_model, layers, heads, ffn dims,
//                           activation, scale_embedding, vocabularies, ids)
//   generation_config.json  decoder start (weft's BOS), EOS, pad, length limit
//   model.safetensors       f32 tensors under MarianMTModel's names; Marian's
//                           nn.Linear is (out, in) as weft's Linear, so no
//                           weight is transposed:
//     model.shared.weight (V,d)                 shared vocabulary only
//     model.{encoder,decoder}.embed_tokens.weight (V_src,d) / (V,d)
//     model.encoder.layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias}
//     model.encoder.layers.{i}.self_attn_layer_norm.{weight,bias}
//     model.encoder.layers.{i}.fc1.{weight,bias} (d_ff,d), fc2 (d,d_ff)
//     model.encoder.layers.{i}.final_layer_norm.{weight,bias}
//     model.decoder.layers.{i}: the same, plus encoder_attn.{q,k,v,out}_proj
//                               and encoder_attn_layer_norm (weft's cross_attn)
//     lm_head.weight (V,d), final_logits_bias (1,V) zeros (weft has no bias)
//   Every tied table is written under each of its names, so that a reader
//   that ties them and one that does not both get weft's values. The
//   sinusoidal tables are not written: Marian computes them (halves layout).
//   source.spm, target.spm  the SentencePiece models, as weft trained them
//   vocab.json              source pieces -> weft ids (target_vocab.json too
//                           with separate vocabularies)
//   tokenizer_config.json   MarianTokenizer's settings
// What is the same without a setting: positions count from 0 (no offset, as
// BART's 2), embeddings scale by sqrt(d_model) (scale_embedding), every
// projection (q, k, v, out, fc1, fc2) has a bias, scores scale by
// 1/sqrt(head_dim), a post-norm stack ends without a norm. One difference
// no setting covers: weft masks decoder keys equal to the pad id, Marian only
// those its attention mask names: the two differ only after a generated pad
// token, which no training target is.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/data/tokenizer.h"
#include "weft/model/model.h"

namespace weft {

// The token ids config.json names, weft's target tokenizer's.
struct MarianTokenIds {
  int32_t pad = 0;
  int32_t bos = 1;  // weft's decoder starts with it: Marian's decoder_start_token_id
  int32_t eos = 2;
};

struct HfMarianOptions {
  std::string source_lang, target_lang;  // tokenizer_config.json; empty: null
};

// Throws weft::Error naming every setting of `config` that Marian's layout
// cannot express, with the key that changes it: decoder-only, pre-norm,
// learned positions, interleaved sinusoids, a layer-norm eps other than
// nn.LayerNorm's 1e-5. ReLU exports as "relu", GELU (tanh form) as HF's
// "gelu_new"; label smoothing and dropout concern training only.
void check_marian_shaped(const ModelConfig& config);

// Throws weft::Error unless both tokenizers are SentencePiece models whose
// vocabularies have the model's sizes and whose special pieces (pad, eos,
// unk) agree; with a shared vocabulary they must be one vocabulary.
void check_marian_tokenizers(const ModelConfig& config, const Tokenizer& source,
                             const Tokenizer& target);

// config.json's contents.
std::string hf_marian_config_json(const ModelConfig& config, const MarianTokenIds& ids);
// generation_config.json's contents: greedy decoding, ending as weft's does.
std::string hf_marian_generation_config_json(const ModelConfig& config, const MarianTokenIds& ids);

// The HF tensors (host, f32) from full weft parameters by weft name. Throws
// weft::Error for a missing tensor or a wrong shape, naming it.
std::vector<std::pair<std::string, Tensor>> hf_marian_tensors(
    const ModelConfig& config, const std::map<std::string, Tensor>& weights);

// Writes every file above into out_dir (created; each file replaced
// atomically), after checking the model and the tokenizers. The model's
// parameters must be whole, not tensor-parallel shards.
void export_hf_marian(Model& model, const Tokenizer& source, const Tokenizer& target,
                      const std::string& out_dir, const HfMarianOptions& options = {});

}  // namespace weft
