#include "weft/inference/export_hf_marian.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "inference/export_weights.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {
namespace {

constexpr const char* kFormat = "hf-marian";
// Marian's nn.LayerNorm(d_model), whose eps config.json cannot change.
constexpr double kMarianNormEps = 1e-5;

using ordered_json = nlohmann::ordered_json;

// The word config.json's activation_function takes: HF's ACT2FN names.
// "gelu_new" is GELU's tanh form, as weft computes it.
const char* hf_activation(ops::Activation a) {
  return a == ops::Activation::ReLU ? "relu" : "gelu_new";
}

}  // namespace

void check_marian_shaped(const ModelConfig& c) {
  std::string problems;
  const auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  if (c.architecture != Architecture::EncoderDecoder) {
    add(std::string("it is ") + architecture_name(c.architecture) +
        " (model.architecture), not an encoder-decoder");
  }
  if (c.norm != NormPlacement::Post) {
    add("layer norms are pre-norm (model.norm = pre); Marian's are post-norm");
  }
  if (c.positions != PositionEncoding::Sinusoidal) {
    add("positions are learned (model.positions = learned); Marian's are fixed sinusoids");
  } else if (c.sinusoid_layout != ops::SinusoidLayout::Halves) {
    add("the sinusoidal features are interleaved (model.sinusoid_layout = interleaved); "
        "Marian puts the sines in the first half and the cosines in the second: train with "
        "model.sinusoid_layout = halves");
  }
  if (c.norm_type != NormType::LayerNorm) add("norms are RMS norms (model.norm_type)");
  if (c.ffn != FeedForwardType::MLP) add("the feed-forward is SwiGLU (model.ffn)");
  if (c.kv_heads() != c.n_heads) add("attention is grouped-query (model.n_kv_heads)");
  if (!c.bias) add("the projections have no biases (model.bias)");
  if (c.norm_eps != kMarianNormEps) {
    std::ostringstream eps;
    eps << c.norm_eps;
    add("the layer-norm eps is " + eps.str() + " (model.norm_eps); Marian's is 1e-05");
  }
  WEFT_CHECK(problems.empty(),
             "export hf-marian: Marian's layout cannot express the model: ", problems);
}

void check_marian_tokenizers(const ModelConfig& c, const Tokenizer& source,
                             const Tokenizer& target) {
  const auto source_model = sentencepiece_model(source);
  const auto target_model = sentencepiece_model(target);
  WEFT_CHECK(source_model && target_model, "export hf-marian: MarianTokenizer reads ",
             "SentencePiece models, but the run's tokenizers are '", source.kind(), "' (source) ",
             "and '", target.kind(), "' (target): prepare the data with --tokenizer sentencepiece");
  WEFT_CHECK(target.vocab_size() == c.vocab_size, "export hf-marian: the target tokenizer has ",
             target.vocab_size(), " pieces, the model's vocabulary ", c.vocab_size);
  WEFT_CHECK(source.vocab_size() == c.encoder_vocab_size(),
             "export hf-marian: the source tokenizer has ", source.vocab_size(),
             " pieces, the encoder's vocabulary ", c.encoder_vocab_size());
  if (c.shared_vocabulary()) {
    WEFT_CHECK(source.vocabulary_hash() == target.vocabulary_hash(),
               "export hf-marian: the model shares one vocabulary, but the source and target ",
               "tokenizers differ");
  }
  // tokenizer_config.json names each special token once, by its piece.
  for (const auto& [what, source_id, target_id] :
       {std::tuple{"pad", source.pad_id(), target.pad_id()},
        std::tuple{"eos", source.eos_id(), target.eos_id()},
        std::tuple{"unk", source_model->unk_id, target_model->unk_id}}) {
    WEFT_CHECK(source_id >= 0 && target_id >= 0 &&
                   source_model->pieces[source_id] == target_model->pieces[target_id],
               "export hf-marian: the source and target tokenizers name their ", what,
               " token differently");
  }
}

std::string hf_marian_config_json(const ModelConfig& c, const MarianTokenIds& ids) {
  check_marian_shaped(c);
  ordered_json j;
  j["architectures"] = {"MarianMTModel"};
  j["model_type"] = "marian";
  j["vocab_size"] = c.encoder_vocab_size();
  j["decoder_vocab_size"] = c.vocab_size;
  j["share_encoder_decoder_embeddings"] = c.shared_vocabulary();
  j["tie_word_embeddings"] = c.tie_embeddings;  // lm_head = the decoder's embedding
  j["max_position_embeddings"] = c.max_seq_len;
  j["d_model"] = c.d_model;
  j["encoder_layers"] = c.n_encoder_layers;
  j["encoder_attention_heads"] = c.n_heads;
  j["encoder_ffn_dim"] = c.d_ff;
  j["decoder_layers"] = c.n_layers;
  j["decoder_attention_heads"] = c.n_heads;
  j["decoder_ffn_dim"] = c.d_ff;
  j["activation_function"] = hf_activation(c.activation);
  j["scale_embedding"] = c.scale_embeddings;
  // weft drops embeddings, sublayer outputs and the feed-forward hidden
  // units, never attention probabilities; training only.
  j["dropout"] = c.dropout;
  j["activation_dropout"] = c.dropout;
  j["attention_dropout"] = 0.0;
  j["encoder_layerdrop"] = 0.0;
  j["decoder_layerdrop"] = 0.0;
  j["init_std"] = c.init_std;
  j["pad_token_id"] = ids.pad;
  j["eos_token_id"] = ids.eos;
  j["bos_token_id"] = ids.bos;
  j["decoder_start_token_id"] = ids.bos;
  j["forced_eos_token_id"] = ids.eos;
  j["is_encoder_decoder"] = true;
  j["use_cache"] = true;
  // What older MarianConfig/BartConfig readers take from the file: post-norm,
  // fixed sinusoids, no embedding or final norm, no logits bias parameter.
  j["normalize_before"] = false;
  j["normalize_embedding"] = false;
  j["static_position_embeddings"] = true;
  j["add_final_layer_norm"] = false;
  j["add_bias_logits"] = false;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

std::string hf_marian_generation_config_json(const ModelConfig& c, const MarianTokenIds& ids) {
  ordered_json j;
  j["decoder_start_token_id"] = ids.bos;
  j["bos_token_id"] = ids.bos;
  j["eos_token_id"] = ids.eos;
  j["pad_token_id"] = ids.pad;
  // weft ends a translation with EOS at its last allowed position, at most
  // max_seq_len tokens; generate counts the start token in max_length.
  j["forced_eos_token_id"] = ids.eos;
  j["max_length"] = c.max_seq_len + 1;
  j["num_beams"] = 1;
  j["do_sample"] = false;
  return j.dump(2) + "\n";
}

std::vector<std::pair<std::string, Tensor>> hf_marian_tensors(
    const ModelConfig& c, const std::map<std::string, Tensor>& w) {
  check_marian_shaped(c);
  const int64_t d = c.d_model, f = c.d_ff, V = c.vocab_size, Vs = c.encoder_vocab_size();
  std::vector<std::pair<std::string, Tensor>> out;
  const auto take = [&](const std::string& to, const std::string& from, const Shape& shape) {
    out.emplace_back(to, detail::host_f32(w, from, shape, kFormat));
  };
  const std::string target_table = "decoder.embed_tokens.weight";
  const std::string source_table =
      c.shared_vocabulary() ? target_table : "encoder.embed_tokens.weight";
  if (c.shared_vocabulary()) take("model.shared.weight", target_table, {V, d});
  take("model.encoder.embed_tokens.weight", source_table, {Vs, d});
  take("model.decoder.embed_tokens.weight", target_table, {V, d});

  const auto attention = [&](const std::string& to, const std::string& from) {
    for (const auto& [hf, weft] : {std::pair{"q_proj", "q"}, std::pair{"k_proj", "k"},
                                   std::pair{"v_proj", "v"}, std::pair{"out_proj", "o"}}) {
      take(to + "." + hf + ".weight", from + "." + weft + ".weight", {d, d});
      take(to + "." + hf + ".bias", from + "." + weft + ".bias", {d});
    }
  };
  const auto norm = [&](const std::string& to, const std::string& from) {
    take(to + ".weight", from + ".weight", {d});
    take(to + ".bias", from + ".bias", {d});
  };
  const auto layers = [&](const std::string& stack, int64_t n, bool cross) {
    for (int64_t i = 0; i < n; ++i) {
      const std::string from = stack + ".layers." + std::to_string(i) + ".";
      const std::string to = "model." + from;
      attention(to + "self_attn", from + "self_attn");
      norm(to + "self_attn_layer_norm", from + "self_attn.norm");
      if (cross) {
        attention(to + "encoder_attn", from + "cross_attn");
        norm(to + "encoder_attn_layer_norm", from + "cross_attn.norm");
      }
      take(to + "fc1.weight", from + "ffn.fc1.weight", {f, d});
      take(to + "fc1.bias", from + "ffn.fc1.bias", {f});
      take(to + "fc2.weight", from + "ffn.fc2.weight", {d, f});
      take(to + "fc2.bias", from + "ffn.fc2.bias", {d});
      norm(to + "final_layer_norm", from + "ffn.norm");
    }
  };
  layers("encoder", c.n_encoder_layers, /*cross=*/false);
  layers("decoder", c.n_layers, /*cross=*/true);
  take("lm_head.weight", c.tie_embeddings ? target_table : "lm_head.weight", {V, d});
  out.emplace_back("final_logits_bias", Tensor::zeros({1, V}, DType::F32));
  return out;
}

namespace {

// Pieces -> ids, in id order.
std::string vocab_json(const SentencePieceModel& model) {
  ordered_json j = ordered_json::object();
  for (size_t id = 0; id < model.pieces.size(); ++id) j[model.pieces[id]] = id;
  return j.dump(2) + "\n";
}

std::string tokenizer_config_json(const ModelConfig& c, const SentencePieceModel& target,
                                  const Tokenizer& tokenizer, const HfMarianOptions& options) {
  const auto piece = [&](int32_t id) { return target.pieces[static_cast<size_t>(id)]; };
  const auto lang = [](const std::string& s) {
    return s.empty() ? ordered_json() : ordered_json(s);
  };
  ordered_json j;
  j["tokenizer_class"] = "MarianTokenizer";
  j["source_lang"] = lang(options.source_lang);
  j["target_lang"] = lang(options.target_lang);
  j["separate_vocabs"] = !c.shared_vocabulary();
  j["eos_token"] = piece(tokenizer.eos_id());
  j["pad_token"] = piece(tokenizer.pad_id());
  j["unk_token"] = piece(target.unk_id);
  j["model_max_length"] = c.max_seq_len;
  j["clean_up_tokenization_spaces"] = false;  // weft's decode keeps every space
  j["sp_model_kwargs"] = ordered_json::object();
  return j.dump(2) + "\n";
}

}  // namespace

void export_hf_marian(Model& model, const Tokenizer& source, const Tokenizer& target,
                      const std::string& out_dir, const HfMarianOptions& options) {
  const ModelConfig& c = model.config();
  check_marian_shaped(c);
  check_marian_tokenizers(c, source, target);
  const SentencePieceModel source_model = *sentencepiece_model(source);
  const SentencePieceModel target_model = *sentencepiece_model(target);
  const auto tensors = hf_marian_tensors(c, detail::whole_weights(model, kFormat));
  const MarianTokenIds ids{target.pad_id(), target.bos_id(), target.eos_id()};

  const auto write = [&](const std::string& name, const std::string& text) {
    detail::write_export_file(out_dir, name, text, kFormat);
  };
  write("config.json", hf_marian_config_json(c, ids));
  write("generation_config.json", hf_marian_generation_config_json(c, ids));
  save_safetensors(out_dir + "/model.safetensors", tensors, {{"format", "pt"}});
  write("source.spm", source_model.serialized);
  write("target.spm", target_model.serialized);
  write("vocab.json", vocab_json(source_model));
  if (!c.shared_vocabulary()) write("target_vocab.json", vocab_json(target_model));
  write("tokenizer_config.json", tokenizer_config_json(c, target_model, target, options));
}

}  // namespace weft
