#include "weft/model/config.h"

#include <algorithm>
#include <cstdint>

#include "weft/tensor/allocator.h"
#include "weft/tensor/error.h"

namespace weft {

const char* architecture_name(Architecture a) {
  return a == Architecture::DecoderOnly      ? "decoder-only"
         : a == Architecture::EncoderDecoder ? "encoder-decoder"
                                             : "encoder-only";
}

namespace {

// Bounds far above any model trained today, low enough that no size derived
// from them overflows int64: a config beyond them is a typo or hostile.
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxWidth = int64_t{1} << 16;    // d_model
constexpr int64_t kMaxFfn = int64_t{1} << 18;      // d_ff
constexpr int64_t kMaxLayers = int64_t{1} << 10;   // per stack
constexpr int64_t kMaxContext = int64_t{1} << 20;  // max_seq_len

void check_at_most(const char* key, int64_t value, int64_t limit) {
  WEFT_CHECK(value <= limit, key, " is ", value, ", above the largest weft accepts (", limit, ")");
}

}  // namespace

void ModelConfig::validate() const {
  WEFT_CHECK(vocab_size > 0, "model.vocab_size must be positive, got ", vocab_size);
  check_at_most("model.vocab_size", vocab_size, kMaxVocab);
  check_at_most("model.source_vocab_size", source_vocab_size, kMaxVocab);
  check_at_most("model.d_model", d_model, kMaxWidth);
  check_at_most("model.d_ff", d_ff, kMaxFfn);
  check_at_most("model.n_layers", n_layers, kMaxLayers);
  check_at_most("model.n_encoder_layers", n_encoder_layers, kMaxLayers);
  check_at_most("model.max_seq_len", max_seq_len, kMaxContext);
  WEFT_CHECK(source_vocab_size >= 0, "model.source_vocab_size must be >= 0, got ",
             source_vocab_size);
  WEFT_CHECK(d_model > 0 && n_heads > 0 && d_ff > 0, "model.d_model, model.n_heads and ",
             "model.d_ff must be positive, got ", d_model, ", ", n_heads, ", ", d_ff);
  WEFT_CHECK(d_model % n_heads == 0, "model.d_model (", d_model,
             ") must be divisible by model.n_heads (", n_heads, ")");
  WEFT_CHECK(n_layers > 0, "model.n_layers must be positive, got ", n_layers);
  WEFT_CHECK(n_kv_heads >= 0 && n_kv_heads <= n_heads, "model.n_kv_heads must be in [1, ",
             "model.n_heads = ", n_heads, "] (or 0: n_heads), got ", n_kv_heads);
  WEFT_CHECK(n_heads % kv_heads() == 0, "model.n_kv_heads (", n_kv_heads,
             ") must divide model.n_heads (", n_heads, "): each key/value head serves the ",
             "same number of query heads");
  if (positions == PositionEncoding::Rotary) {
    WEFT_CHECK(head_dim() % 2 == 0, "rotary positions rotate pairs of features: the head ",
               "dimension model.d_model / model.n_heads = ", head_dim(), " must be even");
    WEFT_CHECK(rope_theta > 1.0, "model.rope_theta must be above 1, got ", rope_theta);
  }
  if (architecture == Architecture::EncoderDecoder) {
    WEFT_CHECK(n_encoder_layers > 0, "model.n_encoder_layers must be positive for an ",
               "encoder-decoder, got ", n_encoder_layers);
  } else {
    WEFT_CHECK(n_encoder_layers == 0, "model.n_encoder_layers must be 0 for a ",
               architecture_name(architecture), " model (its layers are model.n_layers), got ",
               n_encoder_layers);
    WEFT_CHECK(shared_vocabulary(), "model.source_vocab_size is for encoder-decoder models");
  }
  WEFT_CHECK(max_seq_len > 0, "model.max_seq_len must be positive, got ", max_seq_len);
  WEFT_CHECK(n_token_types >= 0 && n_token_types <= 16, "model.n_token_types must be in [0, 16], ",
             "got ", n_token_types);
  WEFT_CHECK(n_token_types == 0 || encoder_only(), "model.n_token_types (segment embeddings) is ",
             "for encoder-only models");
  WEFT_CHECK(sep_id >= -1 && sep_id < vocab_size, "model.sep_id must be -1 (none) or a token id ",
             "below vocab_size ", vocab_size, ", got ", sep_id);
  WEFT_CHECK(!encoder_only() || tie_embeddings, "an encoder-only model's masked-LM decoder is ",
             "the token embedding (model.tie_embeddings = true)");
  WEFT_CHECK(!encoder_only() || positions != PositionEncoding::Rotary,
             "an encoder-only model takes learned or sinusoidal positions, not rotary");
  WEFT_CHECK(dropout >= 0.0 && dropout < 1.0, "model.dropout must be in [0, 1), got ", dropout);
  WEFT_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0,
             "model.label_smoothing must be in [0, 1), got ", label_smoothing);
  WEFT_CHECK(norm_eps > 0.0, "model.norm_eps must be positive, got ", norm_eps);
  WEFT_CHECK(init_std > 0.0, "model.init_std must be positive, got ", init_std);
  WEFT_CHECK(vocab_multiple >= 1, "model.vocab_multiple must be >= 1, got ", vocab_multiple);
  check_at_most("model.vocab_multiple", vocab_multiple, kMaxVocab);
  WEFT_CHECK(pad_id >= -1 && pad_id < vocab_size, "model.pad_id must be -1 (none) or a token ",
             "id below vocab_size ", vocab_size, ", got ", pad_id);
  check_fits_in_memory(weight_bytes(), host_memory_bytes(), "its weights");
}

int64_t ModelConfig::padded_vocab(int64_t vocab, int64_t tp) const {
  const int64_t multiple = vocab_multiple * tp;
  return (vocab + multiple - 1) / multiple * multiple;
}

int64_t ModelConfig::weight_bytes() const {
  int64_t values = parameter_count();
  // Sinusoidal positions are a table too, if not a parameter.
  const int64_t tables = architecture == Architecture::EncoderDecoder ? 2 : 1;
  if (positions == PositionEncoding::Sinusoidal) values += tables * max_seq_len * d_model;
  return values * static_cast<int64_t>(sizeof(float));
}

void check_fits_in_memory(int64_t bytes, int64_t available, const std::string& what,
                          const std::string& advice) {
  constexpr double kGiB = double(int64_t{1} << 30);
  WEFT_CHECK(available <= 0 || bytes <= available, "the model needs ", bytes / kGiB, " GiB for ",
             what, ", more than the ", available / kGiB, " GiB of memory here: choose a smaller ",
             advice);
}

int64_t ModelConfig::activation_bytes(int64_t batch, int64_t source_len,
                                      int64_t target_len) const {
  return activation_bytes(batch, source_len, target_len, ActivationLayout{});
}

int64_t ModelConfig::activation_bytes(int64_t batch, int64_t source_len, int64_t target_len,
                                      const ActivationLayout& layout) const {
  // Counted in doubles: the bounds validate() enforces keep every factor
  // below 2^24, but their product can pass 2^63.
  const double d = static_cast<double>(d_model), f = static_cast<double>(d_ff);
  const double h = static_cast<double>(n_heads), b = static_cast<double>(batch);
  const double S = static_cast<double>(source_len), T = static_cast<double>(target_len);
  const double tp = static_cast<double>(std::max<int64_t>(1, layout.tp));
  const double rows = layout.sequence_parallel ? tp : 1.0;  // norms' and residuals' share
  // Per position of one block: two norms, two residuals and the attention's
  // projection (≈ 8·d, replicated over TP); Q, K, V and the attention output
  // (4·d), the hidden layer before and after its activation (2·f), and one
  // probability per head and key, all sharded over TP.
  // The hidden layer's values: before and after the activation, and
  // SwiGLU's second projection.
  const double hidden_values = ffn == FeedForwardType::SwiGLU ? 3.0 : 2.0;
  const auto block = [&](double keys) {
    const double probabilities = layout.drop_probabilities ? 0.0 : h * keys;
    return 8.0 * d / rows + (4.0 * d + hidden_values * f + probabilities) / tp;
  };
  const auto cross = [&]() {
    return (4.0 * d + (layout.drop_probabilities ? 0.0 : h * S)) / tp;
  };
  const bool enc_dec = architecture == Architecture::EncoderDecoder;
  const double decoder_block = block(T) + (enc_dec ? cross() : 0.0);
  const double L = static_cast<double>(n_layers), Le = static_cast<double>(n_encoder_layers);
  double values = 0.0;
  if (layout.keep_block_inputs) {
    // Each block's input, and the largest block's values while it is redone.
    values = b * T * L * d / rows + (enc_dec ? b * S * Le * d / rows : 0.0) +
             std::max(b * T * decoder_block, enc_dec ? b * S * block(S) : 0.0);
  } else {
    values = b * T * L * decoder_block;
    if (enc_dec) values += b * S * Le * block(S);
  }
  values += 2.0 * b * T * static_cast<double>(vocab_size) / tp;  // logits and their gradient
  const double bytes = values * sizeof(float);
  return bytes >= 9.0e18 ? INT64_MAX : static_cast<int64_t>(bytes);
}

namespace {

// The parameters of one norm: a gain, and for layer norm a bias.
int64_t norm_params(const ModelConfig& c) {
  return c.norm_type == NormType::LayerNorm ? 2 * c.d_model : c.d_model;
}

// q and o map d to d; k and v map d to the key/value heads' width.
int64_t attention_matmul_params(const ModelConfig& c) {
  const int64_t d = c.d_model, kv = c.kv_heads() * c.head_dim();
  return 2 * d * d + 2 * d * kv;
}

// With its norm (each sublayer has one).
int64_t attention_params(const ModelConfig& c) {
  const int64_t biases = c.bias ? 2 * c.d_model + 2 * c.kv_heads() * c.head_dim() : 0;
  return attention_matmul_params(c) + biases + norm_params(c);
}

int64_t ffn_matmul_params(const ModelConfig& c) {
  return (c.ffn == FeedForwardType::SwiGLU ? 3 : 2) * c.d_model * c.d_ff;
}

int64_t ffn_params(const ModelConfig& c) {
  const int64_t up_biases = c.ffn == FeedForwardType::SwiGLU ? 2 * c.d_ff : c.d_ff;
  const int64_t biases = c.bias ? up_biases + c.d_model : 0;
  return ffn_matmul_params(c) + biases + norm_params(c);
}

}  // namespace

int64_t ModelConfig::parameter_count() const {
  const bool enc_dec = architecture == Architecture::EncoderDecoder;
  int64_t n = vocab_size * d_model;                           // target embedding
  if (enc_dec && !shared_vocabulary()) n += source_vocab_size * d_model;
  if (positions == PositionEncoding::Learned) n += max_seq_len * d_model * (enc_dec ? 2 : 1);
  int64_t decoder_layer = attention_params(*this) + ffn_params(*this);
  if (enc_dec) decoder_layer += attention_params(*this);   // cross-attention
  n += n_layers * decoder_layer;
  n += n_encoder_layers * (attention_params(*this) + ffn_params(*this));
  if (norm == NormPlacement::Pre) n += norm_params(*this) * (enc_dec ? 2 : 1);  // final norms
  if (!tie_embeddings) n += vocab_size * d_model;
  if (encoder_only()) {
    // Segment embeddings and the embeddings' norm; the masked-LM head's
    // transform, its norm and the output bias.
    n += n_token_types * d_model + norm_params(*this);
    n += d_model * d_model + d_model + norm_params(*this) + vocab_size;
  }
  return n;
}

double ModelConfig::training_flops(int64_t batch, int64_t source_len, int64_t target_len) const {
  const double d = static_cast<double>(d_model);
  const double block = static_cast<double>(attention_matmul_params(*this) +
                                           ffn_matmul_params(*this));
  // Per position: 6 FLOPs per matrix parameter; attention 12·d per key.
  const double T = static_cast<double>(target_len), S = static_cast<double>(source_len);
  double per_target = 6.0 * static_cast<double>(vocab_size) * d + n_layers * (6.0 * block + 12.0 * d * T);
  if (encoder_only()) per_target += 6.0 * d * d;  // the masked-LM head's transform
  double per_source = 0.0;
  if (architecture == Architecture::EncoderDecoder) {
    per_target += n_layers * (6.0 * attention_matmul_params(*this) + 12.0 * d * S);
    per_source = n_encoder_layers * (6.0 * block + 12.0 * d * S);
  }
  return static_cast<double>(batch) * (T * per_target + S * per_source);
}

ModelConfig model_preset(const std::string& name) {
  ModelConfig c;
  if (name == "gpt2-124m") {
    c.vocab_size = 50257;
    c.d_model = 768, c.n_heads = 12, c.d_ff = 3072, c.n_layers = 12, c.max_seq_len = 1024;
  } else if (name == "gpt-shakespeare-char") {
    c.vocab_size = 65;
    c.d_model = 384, c.n_heads = 6, c.d_ff = 1536, c.n_layers = 6, c.max_seq_len = 256;
    c.dropout = 0.2;
  } else if (name == "tiny-gpt") {
    c.vocab_size = 32;
    c.d_model = 16, c.n_heads = 2, c.d_ff = 48, c.n_layers = 2, c.max_seq_len = 16;
  } else if (name == "transformer-base" || name == "tiny-encoder-decoder" ||
             name == "numbers-transformer") {
    c.architecture = Architecture::EncoderDecoder;
    c.norm = NormPlacement::Post;
    c.activation = ops::Activation::ReLU;
    c.positions = PositionEncoding::Sinusoidal;
    c.scale_embeddings = true;
    if (name == "transformer-base") {
      c.vocab_size = 37000;
      c.d_model = 512, c.n_heads = 8, c.d_ff = 2048, c.n_layers = 6, c.n_encoder_layers = 6;
      c.max_seq_len = 1024, c.dropout = 0.1, c.label_smoothing = 0.1;
    } else if (name == "numbers-transformer") {
      // The built-in translation task's model: small enough to learn it in
      // minutes on two CPU cores.
      c.vocab_size = 40;
      c.d_model = 128, c.n_heads = 4, c.d_ff = 512, c.n_layers = 2, c.n_encoder_layers = 2;
      c.max_seq_len = 96, c.dropout = 0.1, c.label_smoothing = 0.1;
    } else {
      c.vocab_size = 32;
      c.d_model = 16, c.n_heads = 2, c.d_ff = 32, c.n_layers = 2, c.n_encoder_layers = 2;
      c.max_seq_len = 32, c.label_smoothing = 0.1;
    }
  } else if (name == "tiny-llama" || name == "llama-124m" || name == "llama-shakespeare-char") {
    // LLaMA's choices: pre-norm with RMS norms, rotary positions, SwiGLU,
    // grouped-query attention, no biases, an untied output head.
    c.norm_type = NormType::RMSNorm;
    c.ffn = FeedForwardType::SwiGLU;
    c.positions = PositionEncoding::Rotary;
    c.bias = false;
    c.tie_embeddings = false;
    if (name == "tiny-llama") {
      c.vocab_size = 32;
      c.d_model = 16, c.n_heads = 4, c.n_kv_heads = 2, c.d_ff = 40, c.n_layers = 2;
      c.max_seq_len = 16;
    } else if (name == "llama-124m") {
      // GPT-2 124M's budget: SwiGLU's three matrices of 2048 match two of
      // 3072, and the untied 32k vocabulary spends what GQA saves.
      c.vocab_size = 32000;
      c.d_model = 768, c.n_heads = 12, c.n_kv_heads = 4, c.d_ff = 2048, c.n_layers = 12;
      c.max_seq_len = 1024;
    } else {
      // gpt-shakespeare-char's parameter count: the hidden width takes what
      // the two key/value heads save.
      c.vocab_size = 65;
      c.d_model = 384, c.n_heads = 6, c.n_kv_heads = 2, c.d_ff = 1208, c.n_layers = 6;
      c.max_seq_len = 256, c.dropout = 0.2;
    }
  } else if (name == "tiny-bert" || name == "bert-base") {
    // BERT: a bidirectional encoder, post-norm, learned positions and
    // segments, GELU, the masked-LM head tied to the token embedding.
    c.architecture = Architecture::EncoderOnly;
    c.norm = NormPlacement::Post;
    c.n_token_types = 2;
    if (name == "tiny-bert") {
      c.vocab_size = 32;
      c.d_model = 16, c.n_heads = 2, c.d_ff = 48, c.n_layers = 2, c.max_seq_len = 16;
    } else {
      c.vocab_size = 30522;
      c.d_model = 768, c.n_heads = 12, c.d_ff = 3072, c.n_layers = 12, c.max_seq_len = 512;
      c.dropout = 0.1, c.norm_eps = 1e-12;
    }
  } else {
    throw Error("unknown model preset '" + name +
                "' (known: gpt2-124m, gpt-shakespeare-char, tiny-gpt, transformer-base, "
                "numbers-transformer, tiny-encoder-decoder, tiny-llama, llama-124m, "
                "llama-shakespeare-char, tiny-bert, bert-base)");
  }
  return c;
}

}  // namespace weft
