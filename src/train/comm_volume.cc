#include "weft/train/comm_volume.h"

#include <cstdio>
#include <tuple>

#include "weft/tensor/error.h"
#include "weft/train/bucket_plan.h"

namespace weft {
namespace {

// full / tp for a dimension split across the TP group; names it when it does not divide.
int64_t shard(int64_t full, int64_t tp, const char* what) {
  WEFT_CHECK(full % tp == 0, what, " (", full, ") does not divide across tp = ", tp, " ranks");
  return full / tp;
}

// Mirrors the layers' constructors (src/model): each module's parameters,
// then its children's, in the order they were added.
void add_linear(std::vector<int64_t>& out, const ModelConfig& c, int64_t weight, int64_t bias) {
  out.push_back(weight);
  if (c.bias) out.push_back(bias);
}

void add_attention(std::vector<int64_t>& out, const ModelConfig& c, int64_t tp) {
  const int64_t d = c.d_model, d_local = shard(d, tp, "model.d_model");
  const int64_t kv_local = shard(c.kv_heads(), tp, "model.n_kv_heads") * c.head_dim();
  add_linear(out, c, d_local * d, d_local);    // q: column-parallel weight and bias
  add_linear(out, c, kv_local * d, kv_local);  // k, v: column-parallel over key/value heads
  add_linear(out, c, kv_local * d, kv_local);
  add_linear(out, c, d * d_local, d);          // o: row-parallel weight, replicated bias
}

int64_t norm_numel(const ModelConfig& c) {
  return (c.norm_type == NormType::LayerNorm ? 2 : 1) * c.d_model;  // gain (and bias)
}

void add_norm(std::vector<int64_t>& out, const ModelConfig& c) {
  out.push_back(c.d_model);                                  // gain
  if (c.norm_type == NormType::LayerNorm) out.push_back(c.d_model);  // bias
}

void add_feed_forward(std::vector<int64_t>& out, const ModelConfig& c, int64_t tp) {
  const int64_t d = c.d_model, f_local = shard(c.d_ff, tp, "model.d_ff");
  // gate (swiglu) and fc1/up: column-parallel; fc2/down: row-parallel.
  if (c.ffn == FeedForwardType::SwiGLU) add_linear(out, c, f_local * d, f_local);
  add_linear(out, c, f_local * d, f_local);
  add_linear(out, c, d * f_local, d);
}

void add_stack(std::vector<int64_t>& out, const ModelConfig& c, int64_t layers, bool cross,
               int64_t tp) {
  if (c.positions == PositionEncoding::Learned) out.push_back(c.max_seq_len * c.d_model);
  if (c.encoder_only()) {  // segments and the embeddings' norm
    if (c.n_token_types > 0) out.push_back(c.n_token_types * c.d_model);
    add_norm(out, c);
  }
  for (int64_t l = 0; l < layers; ++l) {
    add_norm(out, c);
    add_attention(out, c, tp);
    if (cross) {
      add_norm(out, c);
      add_attention(out, c, tp);
    }
    add_norm(out, c);
    add_feed_forward(out, c, tp);
  }
  if (c.norm == NormPlacement::Pre) add_norm(out, c);
}

void add_calls(CollectiveTally& entry, int64_t calls, int64_t bytes_each) {
  entry.calls += calls;
  entry.bytes += calls * bytes_each;
}

}  // namespace

std::vector<int64_t> local_parameter_numels(const ModelConfig& c, int64_t tp) {
  WEFT_CHECK(tp >= 1, "tp must be >= 1, got ", tp);
  const bool enc_dec = c.architecture == Architecture::EncoderDecoder;
  const int64_t d = c.d_model;
  std::vector<int64_t> out;
  // Vocabulary tables are padded to a multiple of vocab_multiple × tp rows.
  const int64_t vocab = c.padded_vocab(c.vocab_size, tp) / tp;
  if (enc_dec && !c.shared_vocabulary()) {
    out.push_back(c.padded_vocab(c.source_vocab_size, tp) / tp * d);
  }
  out.push_back(vocab * d);
  if (enc_dec) add_stack(out, c, c.n_encoder_layers, /*cross=*/false, tp);
  add_stack(out, c, c.n_layers, /*cross=*/enc_dec, tp);
  if (!c.tie_embeddings) out.push_back(vocab * d);
  if (c.encoder_only()) {
    // The masked-LM head: replicated transform (weight, bias) and norm, the
    // decoder's vocabulary-parallel bias (its weight is the embedding's).
    out.push_back(d * d);
    out.push_back(d);
    add_norm(out, c);
    out.push_back(vocab);
  }
  return out;
}

CommVolume step_comm_volume(const ModelConfig& c, const StepShape& s) {
  c.validate();
  const bool enc_dec = c.architecture == Architecture::EncoderDecoder;
  WEFT_CHECK(s.dp >= 1 && s.tp >= 1, "dp and tp must be >= 1, got dp ", s.dp, ", tp ", s.tp);
  WEFT_CHECK(s.micro_batch_rows >= 1 && s.micro_batch_rows % s.dp == 0, "the micro-batch of ",
             s.micro_batch_rows, " sequences does not divide across dp = ", s.dp, " replicas");
  WEFT_CHECK(s.target_len >= 1 && (!enc_dec || s.source_len >= 1),
             "lengths must be positive, got target ", s.target_len, ", source ", s.source_len);
  WEFT_CHECK(s.grad_accum >= 1 && s.dtype_bytes >= 1 && s.bucket_bytes >= 1,
             "grad_accum, dtype_bytes and bucket_bytes must be positive, got ", s.grad_accum, ", ",
             s.dtype_bytes, ", ", s.bucket_bytes);
  shard(c.n_heads, s.tp, "model.n_heads");
  shard(c.kv_heads(), s.tp, "model.n_kv_heads");
  const std::vector<int64_t> numels = local_parameter_numels(c, s.tp);

  const int64_t b = s.micro_batch_rows / s.dp, d = c.d_model, e = s.dtype_bytes;
  const int64_t A = s.grad_accum, L = c.n_layers, Le = c.n_encoder_layers;
  constexpr int64_t kScalar = sizeof(double);
  CommVolume v;
  // Full recompute runs each block's forward again, with its collectives.
  const int64_t redo = s.recompute_full ? 1 : 0;
  if (s.tp > 1 && s.sequence_parallel) {
    // Each boundary pair: an all-gather of this rank's rows and a
    // reduce-scatter of all of them, padded to a multiple of tp.
    // Backward gathers each sublayer's input again: one more all-gather.
    const auto boundaries = [&](int64_t rows, int64_t pairs, int64_t regathers) {
      const int64_t padded = (rows + s.tp - 1) / s.tp * s.tp;
      add_calls(v.tp.all_gather, A * (pairs + regathers), e * padded / s.tp * d);
      add_calls(v.tp.reduce_scatter, A * pairs, e * padded * d);
    };
    boundaries(b * s.target_len, (enc_dec ? 6 + 3 * redo : 4 + 2 * redo) * L + 2,
               (enc_dec ? 3 : 2) * L);
    if (enc_dec) boundaries(b * s.source_len, (4 + 2 * redo) * Le + 2, 2 * Le);
    add_calls(v.tp.all_gather, A, 4 * kScalar * b * s.target_len);
    add_calls(v.tp.all_reduce, 1, kScalar);
    // The parameters whose gradients are partial sums over the group: the
    // norms', and an encoder-only model's masked-LM transform.
    int64_t norms = enc_dec ? 2 * Le + 3 * L + (c.norm == NormPlacement::Pre ? 2 : 0)
                            : 2 * L + (c.norm == NormPlacement::Pre ? 1 : 0);
    int64_t others = 0;
    if (c.encoder_only()) norms += 2, others = d * d + d;  // embeddings' and head's norms
    add_calls(v.tp.all_reduce, 1, e * (norms * norm_numel(c) + others));
  } else if (s.tp > 1) {
    add_calls(v.tp.all_reduce, A * ((enc_dec ? 6 + 3 * redo : 4 + 2 * redo) * L + 2),
              e * b * s.target_len * d);
    if (enc_dec) {
      add_calls(v.tp.all_reduce, A * ((4 + 2 * redo) * Le + 2), e * b * s.source_len * d);
    }
    add_calls(v.tp.all_gather, A, 4 * kScalar * b * s.target_len);
    add_calls(v.tp.all_reduce, 1, kScalar);
  }
  if (s.dp > 1) {
    const std::vector<PlannedBucket> plan =
        plan_buckets(numels, e, s.bucket_bytes, s.zero ? s.dp : 1);
    for (const PlannedBucket& bucket : plan) {
      if (s.zero) {
        add_calls(v.dp.reduce_scatter, 1, e * bucket.padded);
        add_calls(v.dp.all_gather, 1, e * bucket.padded / s.dp);
      } else {
        add_calls(v.dp.all_reduce, 1, e * bucket.elements);
      }
    }
    // The loss and the token count, summed once the loader has counted the
    // global batch's tokens on every rank (Batch::global_counted).
    add_calls(v.dp.all_reduce, 1, 2 * kScalar);
    if (s.zero) add_calls(v.dp.all_reduce, 1, 2 * kScalar);  // the norm of the owned slices
  }
  return v;
}

double ring_bytes_sent(const CommTally& t, int64_t n) {
  if (n <= 1) return 0.0;
  const double share = static_cast<double>(n - 1) / static_cast<double>(n);
  return 2.0 * share * static_cast<double>(t.all_reduce.bytes) +
         share * static_cast<double>(t.reduce_scatter.bytes) +
         static_cast<double>(n - 1) * static_cast<double>(t.all_gather.bytes) +
         static_cast<double>(t.broadcast.bytes);
}

std::string format_comm_volume(const ModelConfig& c, const StepShape& s, const CommVolume& v) {
  const bool enc_dec = c.architecture == Architecture::EncoderDecoder;
  char line[512];
  std::string text;
  std::snprintf(line, sizeof(line),
                "communication per rank per optimizer step: dp %ld x tp %ld, micro-batch %ld "
                "sequences (%ld per replica) x %ld tokens",
                static_cast<long>(s.dp), static_cast<long>(s.tp),
                static_cast<long>(s.micro_batch_rows), static_cast<long>(s.micro_batch_rows / s.dp),
                static_cast<long>(s.target_len));
  text += line;
  if (enc_dec) text += " (source " + std::to_string(s.source_len) + ")";
  std::snprintf(line, sizeof(line),
                ", grad_accum %ld, %ld-byte elements, buckets of %.1f MiB%s%s\n",
                static_cast<long>(s.grad_accum), static_cast<long>(s.dtype_bytes),
                static_cast<double>(s.bucket_bytes) / (1 << 20), s.zero ? ", ZeRO-1" : "",
                s.sequence_parallel && s.tp > 1 ? ", sequence parallel" : "");
  text += line;
  for (auto [name, tally, n] : {std::tuple{"tp", &v.tp, s.tp}, std::tuple{"dp", &v.dp, s.dp}}) {
    std::snprintf(
        line, sizeof(line),
        "  %s group of %ld: %ld collectives, payload %.1f MB, a ring sends %.1f MB (%s)\n", name,
        static_cast<long>(n), static_cast<long>(tally->calls()),
        static_cast<double>(tally->bytes()) / 1e6, ring_bytes_sent(*tally, n) / 1e6,
        describe(*tally).c_str());
    text += line;
  }
  return text;
}

}  // namespace weft
