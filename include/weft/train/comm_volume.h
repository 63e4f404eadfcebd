#pragma once
// Communication volume of one optimizer step, from the model's shape and the
// layout alone: the collectives each rank issues in its tensor-parallel (TP)
// and data-parallel (DP) groups, and the payload bytes it hands them, counted
// as CountingCommunicator counts them (numel × element size of the tensor
// passed; all_gather: its input). Every rank of a layout issues the same.
//
// Notation: b = sequences of the micro-batch on one rank (micro_batch_rows /
// dp), T = target length, S = source length, d = d_model, L = decoder
// layers, Le = encoder layers, e = element size of parameters, gradients and
// activations, A = grad_accum. A group of one moves nothing: its part is 0.
//
// TP, when tp > 1:
//   all_reduce, e·b·T·d bytes each, A·(4L + 2) calls (decoder-only) or
//     A·(6L + 2) (encoder-decoder): per layer the attention and FFN outputs
//     forward ("g") and their input gradients backward ("f"), cross-attention
//     adding one of each; plus the vocabulary-parallel embedding's output and
//     the output head's input gradient.
//   all_reduce, e·b·S·d bytes each, A·(4Le + 2) calls (encoder-decoder only):
//     the encoder's layers, its embedding, and the memory gradient, summed
//     over every cross-attention's k, v before one all-reduce.
//   all_gather, 32·b·T bytes each, A calls: the head's cross-entropy
//     statistics, 4 f64 per token row (the logits never cross).
//   all_reduce of 1 f64, 1 call: the sharded part of the gradient norm.
// TP with sequence parallelism, when tp > 1: each of those all-reduces
//   becomes a pair, an all_gather of this rank's rows (e·P/tp·d bytes) and a
//   reduce_scatter of all of them (e·P·d), where P is the pair's b·T (or
//   b·S) rounded up to a multiple of tp: per sublayer the forward's entry
//   and exit and the backward's; the embedding's exit and its gradient; the
//   head's entry and its input gradient; the encoder output's gather and
//   its gradient. Plus 1 all_gather per sublayer in backward: its input's
//   rows gathered again rather than kept from forward (Megatron-LM's
//   choice). The statistics all_gather and the norm's all_reduce stay,
//   and 1 all_reduce sums the layer norms' gradients (e·2d per norm).
// With full activation recompute (train.recompute full) each block's forward
//   runs again in backward, with its collectives: per layer one more of
//   each sublayer's forward exits (all_reduce, or with sequence parallelism
//   an all_gather and reduce_scatter pair), 2 per encoder layer, 2 per
//   decoder-only layer and 3 per encoder-decoder decoder layer.
// DP, when dp > 1:
//   all_reduce of the gradients, e·P_local bytes in all, where P_local =
//     Σ full/tp over sharded parameters (embeddings, an untied head, q/k/v
//     and fc1 weights and biases, o and fc2 weights) + Σ full over
//     replicated ones (layer norms, o and fc2 biases, learned positions);
//     one call per bucket (BucketOptions: parameters in reverse order, a
//     bucket closed before it would pass bucket_bytes). Not scaled by A: the
//     buckets are reduced once, after the last micro-batch.
//   all_reduce of 2 f64, 1 call: the loss sum and the counted tokens (the
//     loaders count the global batch's on every rank, so no collective runs
//     ahead of the forward pass).
// DP with ZeRO-1 (zero), when dp > 1: per bucket, instead of its all_reduce,
//   a reduce_scatter of the bucket padded to a multiple of 64·dp elements
//   (e·padded bytes) and an all_gather of the updated parameters (e·padded/dp
//   bytes: its input, one rank's slice); plus 1 all_reduce of 2 f64, the
//   gradient norm's sums over the owned slices. A ring sends (dp−1)/dp of
//   the padded bucket twice: the same bytes as an all-reduce.
//
// Only Trainer::train_step is counted: evaluation, checkpoints and whatever
// else a command does between steps issue collectives of their own.

#include <cstdint>
#include <string>
#include <vector>

#include "weft/comm/counting.h"
#include "weft/model/config.h"

namespace weft {

struct StepShape {
  int64_t dp = 1;
  int64_t tp = 1;
  int64_t micro_batch_rows = 1;  // sequences of one global micro-batch, over all replicas
  int64_t target_len = 1;        // T
  int64_t source_len = 0;        // S; encoder-decoder only
  int64_t grad_accum = 1;
  int64_t dtype_bytes = 4;          // of parameters, gradients and activations
  int64_t bucket_bytes = 25 << 20;  // BucketOptions::bucket_bytes
  bool zero = false;                // ZeRO-1 (parallel.zero 1)
  bool sequence_parallel = false;   // parallel.sequence_parallel
  bool recompute_full = false;      // train.recompute full (selective moves nothing more)
};

// Per rank, per optimizer step.
struct CommVolume {
  CommTally tp;
  CommTally dp;
};

// Throws weft::Error naming the numbers when the layout does not fit the
// model (tp not dividing the heads or d_ff) or the micro-batch
// does not divide across dp.
CommVolume step_comm_volume(const ModelConfig& config, const StepShape& shape);

// Element counts of one TP rank's parameters, in Model::parameters() order
// (every rank of a group holds the same counts).
std::vector<int64_t> local_parameter_numels(const ModelConfig& config, int64_t tp);

// What a ring algorithm sends per rank for `tally` on a group of n ranks:
// all_reduce 2(n−1)/n of the payload, reduce_scatter (n−1)/n of the input,
// all_gather (n−1) × the input, broadcast the payload (a pipelined chain).
double ring_bytes_sent(const CommTally& tally, int64_t group_size);

// A few lines for `weft bench --comm-volume`: the shape, then the TP and DP
// collectives with their payloads and ring bytes.
std::string format_comm_volume(const ModelConfig& config, const StepShape& shape,
                               const CommVolume& volume);

}  // namespace weft
