#pragma once
// The shape of a model: which family, how wide and deep, and the choices the
// two papers differ on (norm placement, activation, positions, tying).

#include <cstdint>
#include <string>

#include "weft/backend/activation.h"
#include "weft/backend/embedding.h"

namespace weft {

enum class Architecture { DecoderOnly, EncoderDecoder, EncoderOnly };
enum class NormPlacement { Pre, Post };
enum class PositionEncoding { Learned, Sinusoidal };

// Targets equal to this contribute no loss (padding, prompts).

// How a rank holds a block's activations, for ModelConfig::activation_bytes:
// tensor parallelism shards the heads' and the feed-forward units' values
// (and the vocabulary's logits); sequence parallelism also the norms' and
// residuals' rows; selective recompute drops the attention probabilities;
// full recompute keeps only each block's input, and one block's values at a
// time during backward.
struct ActivationLayout {
  int64_t tp = 1;
  bool sequence_parallel = false;
  bool drop_probabilities = false;  // train.recompute selective
  bool keep_block_inputs = false;   // train.recompute full
};

struct ModelConfig {
  Architecture architecture = Architecture::DecoderOnly;
  int64_t vocab_size = 0;          // decoder (target) vocabulary
  int64_t source_vocab_size = 0;   // encoder vocabulary; 0: shared with the target's
  int64_t d_model = 768;
  int64_t n_heads = 12;
  int64_t d_ff = 3072;
  int64_t n_layers = 12;           // decoder blocks
  int64_t n_encoder_layers = 0;    // encoder blocks (encoder-decoder only)
  int64_t max_seq_len = 1024;
  NormPlacement norm = NormPlacement::Pre;
  ops::Activation activation = ops::Activation::GELU;
  PositionEncoding positions = PositionEncoding::Learned;
  // Sinusoidal positions only: sines and cosines interleaved (weft's first
  // layout) or in two halves (Marian's, which `weft export --format
  // hf-marian` needs). Either is the 2017 encoding up to a fixed permutation
  // of the features.
  ops::SinusoidLayout sinusoid_layout = ops::SinusoidLayout::Interleaved;
  bool tie_embeddings = true;      // output projection reuses the target embedding
  bool scale_embeddings = false;   // multiply embeddings by sqrt(d_model), as the 2017 paper
  double dropout = 0.0;            // embeddings and every sublayer output
  double label_smoothing = 0.0;    // applied to the training loss only
  double norm_eps = 1e-5;
  double init_std = 0.02;
  int32_t pad_id = -1;             // padding token id, masked as an attention key; -1: none
  // Embedding tables and the output projection get rows for a vocabulary
  // rounded up to a multiple of vocab_multiple × tp (Megatron-LM's
  // make-vocab-size-divisible-by): any vocabulary splits over any tp, and
  // GEMM rows align. The padded rows are zero, masked out of every softmax,
  // never trained, and not exported: the model's function is the unpadded one.
  int64_t vocab_multiple = 1;

  bool shared_vocabulary() const { return source_vocab_size == 0; }
  int64_t encoder_vocab_size() const { return shared_vocabulary() ? vocab_size : source_vocab_size; }
  int64_t head_dim() const { return d_model / n_heads; }
  // Rows the table of a `vocab`-token vocabulary has under `tp` shards.
  int64_t padded_vocab(int64_t vocab, int64_t tp) const;
  // Throws weft::Error naming the first field that is out of range or
  // inconsistent (e.g. d_model not divisible by n_heads).
  void validate() const;
  // Number of parameters of the full (unsharded) model.
  int64_t parameter_count() const;
  // Bytes of the full model's f32 weights and fixed tables (sinusoidal
  // positions): what any use of the model holds at least.
  int64_t weight_bytes() const;
  // Bytes of the f32 activations one training micro-batch keeps for its
  // backward pass: `batch` sequences of `target_len` decoder positions (and
  // `source_len` encoder positions): every block's normed inputs, Q, K, V,
  // attention outputs and probabilities (batch·heads·T·keys: the unfused
  // path), feed-forward hidden values, residuals, and the logits with their
  // gradient. An estimate from above, for refusing what cannot fit.
  int64_t activation_bytes(int64_t batch, int64_t source_len, int64_t target_len) const;
  // The same estimate for one rank of a layout (see ActivationLayout).
  int64_t activation_bytes(int64_t batch, int64_t source_len, int64_t target_len,
                           const struct ActivationLayout& layout) const;
  // Model FLOPs of one training step (forward + backward) over a batch of
  // `batch` sequences of `target_len` decoder positions and, for an
  // encoder-decoder, `source_len` encoder positions: the matrix products of
  // every layer, attention's scores and weighted sums, and the output
  // projection, counted as computed (padding included).
  double training_flops(int64_t batch, int64_t source_len, int64_t target_len) const;
};

// Ready shapes: "gpt2-124m", "transformer-base", "gpt-shakespeare-char",
// "tiny-gpt", "tiny-encoder-decoder". Throws weft::Error listing the names
// for an unknown one. Vocabulary sizes must be set by the caller (data).
ModelConfig model_preset(const std::string& name);

const char* architecture_name(Architecture a);

// Throws weft::Error, with both figures in GiB and the keys that shrink it
// (`advice`; by default the model's sizes), when `bytes` (of `what`) exceed
// `available`; available <= 0: unknown.
inline constexpr const char* kShrinkModelAdvice =
    "model.d_model, model.d_ff, model.n_layers, model.max_seq_len or vocabulary";
void check_fits_in_memory(int64_t bytes, int64_t available, const std::string& what,
                          const std::string& advice = kShrinkModelAdvice);

}  // namespace weft
