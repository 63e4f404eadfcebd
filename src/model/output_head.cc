#include "weft/model/output_head.h"

#include <algorithm>
#include <cmath>

#include "model/batch_checks.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/linear.h"
#include "weft/backend/vocab_parallel_cross_entropy.h"
#include "weft/model/tensor_parallel.h"
#include "weft/tensor/error.h"

namespace weft {

OutputHead::OutputHead(std::string name, const ModelConfig& c, TokenEmbedding* tied,
                       const LayerContext& ctx, bool bias)
    : Module(std::move(name)), tp_(ctx.tp), partial_dh_(ctx.sequence_parallel) {
  const int64_t padded = c.padded_vocab(c.vocab_size, ctx.tp->size());
  if (tied) {
    weight_ = &tied->table();
  } else {
    weight_ = &add_parameter("weight", {padded, c.d_model}, ctx, Init::Normal, c.init_std, true, 0);
    weight_->padded_rows = padded - c.vocab_size;
  }
  if (bias) {
    bias_ = &add_parameter("bias", {padded}, ctx, Init::Zeros, 0.0, false, 0);
    bias_->padded_rows = padded - c.vocab_size;
  }
}

void OutputHead::add_bias(Tensor& logits, int64_t V_local) {
  if (bias_ == nullptr || V_local == 0) return;
  ops::add_bias(bias_->value.rows(0, V_local), logits);
}

int64_t OutputHead::count_correct_rows(const Tensor& all_stats, const Tensor& targets) const {
  const Tensor stats = all_stats.device() == Device::CPU ? all_stats : all_stats.to(Device::CPU);
  const Tensor ids = targets.device() == Device::CPU ? targets : targets.to(Device::CPU);
  const int64_t shards = stats.dim(0), n = stats.dim(1);
  const double* s = stats.data<double>();
  int64_t correct = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (ids.data<int32_t>()[r] == kIgnoreIndex) continue;
    // Column 0: the shard's largest logit; column 2: the target's logit, on
    // the one shard that holds it (0 elsewhere).
    double largest = -INFINITY, target = 0.0;
    for (int64_t k = 0; k < shards; ++k) {
      largest = std::max(largest, s[(k * n + r) * 4 + 0]);
      target += s[(k * n + r) * 4 + 2];
    }
    correct += target >= largest;
  }
  return correct;
}

double OutputHead::forward(const Tensor& h, const Tensor& target, double label_smoothing,
                           double grad_scale, Tensor* dh) {
  weight_->value_needed();
  // Only the real vocabulary's rows are projected: padding rows get no
  // logit, so they stay out of every softmax and get no gradient.
  // The vocabulary id of this shard's first column (0 when replicated; the
  // end of the real vocabulary for a shard of padding only), and its real rows.
  const int64_t offset = std::min(weight_->shard_offset, weight_->real_rows());
  const int64_t V_local = std::min(weight_->real_rows() - offset, weight_->value.dim(0));
  const int64_t B = h.dim(0), T = h.dim(1), d = h.dim(2);
  const Tensor weight = weight_->value.rows(0, V_local);
  Tensor weight_grad = weight_->grad.rows(0, V_local);
  const int64_t N = B * T, shards = tp_->size();
  const int64_t row_bytes =
      std::max<int64_t>(1, V_local) * static_cast<int64_t>(dtype_size(h.dtype()));
  const int64_t block =
      dh ? std::clamp<int64_t>(static_cast<int64_t>(kLogitsBlockBytes) / row_bytes, 1, N) : N;
  if (block == N) {
    Tensor::ensure(logits_, {B, T, V_local}, h.dtype(), h.device());
  } else {
    Tensor::ensure(logits_, {block, V_local}, h.dtype(), h.device());
  }
  // The loss stays f32 under mixed precision.
  const DType loss_dtype = h.dtype() == DType::BF16 ? DType::F32 : h.dtype();
  Tensor::ensure(losses_, {N}, loss_dtype, h.device());
  Tensor::ensure(stats_, {block, 4}, DType::F64, h.device());
  Tensor::ensure(all_stats_, {shards, block, 4}, DType::F64, h.device());
  if (bias_ != nullptr) bias_->value_needed();
  correct_ = 0;

  // h enters the vocabulary-parallel region through f: every rank reads all of it.
  const Tensor h2 = copy_to_tensor_parallel_region_forward(*tp_, h).view({N, d});
  const Tensor target2 = target.view({N});
  Tensor dh2 = dh ? dh->view({N, d}) : Tensor();
  Pending gathered;  // the last block's statistics gather
  for (int64_t begin = 0; begin < N; begin += block) {
    const int64_t end = std::min(N, begin + block), n = end - begin;
    const Tensor h_rows = h2.rows(begin, end);
    const Tensor target_rows = target2.rows(begin, end);
    Tensor logits = V_local > 0 ? logits_.view({-1, V_local}).rows(0, n)
                                : Tensor::empty({n, 0}, h.dtype(), h.device());
    Tensor stats = stats_.rows(0, n);
    Tensor all_stats = all_stats_.view({-1}).rows(0, shards * n * 4).view({shards, n, 4});
    Tensor losses = losses_.rows(begin, end);
    if (V_local > 0) ops::gemm(h_rows, false, weight, true, logits);
    add_bias(logits, V_local);

    // Four numbers per row cross the group; the logits never do.
    ops::cross_entropy_shard_stats(logits, target_rows, offset, kIgnoreIndex, stats);
    // On a GPU the kernels that read the gathered statistics are ordered
    // after the gather on the device, and the host does not wait block by
    // block; the wait after the loop covers every block's gather (they
    // complete in order) and keeps the group's timeout. Counting correct
    // predictions reads them on the host.
    gathered = tp_->all_gather_async(stats, all_stats);
    if (count_correct_) {
      gathered->wait();
    } else {
      gathered->wait_on_device();
    }
    Tensor dlogits = dh ? logits : Tensor();
    ops::cross_entropy_shard_finish(logits, target_rows, offset, weight_->real_rows(), kIgnoreIndex,
                                    label_smoothing, grad_scale, all_stats, losses, dlogits);
    if (count_correct_) correct_ += count_correct_rows(all_stats, target_rows);
    if (dh) {
      Tensor dh_rows = dh2.rows(begin, end);
      if (V_local == 0) {  // padding only: no part of dh comes from this shard
        dh_rows.zero();
        continue;
      }
      if (bias_ != nullptr) {
        Tensor bias_grad = bias_->grad.rows(0, V_local);
        ops::linear_backward_weight(dlogits, h_rows, weight_grad, bias_grad);
      } else {
        ops::gemm(dlogits, true, h_rows, false, weight_grad, 1.0, 1.0);
      }
      ops::gemm(dlogits, false, weight, false, dh_rows);
    }
  }
  if (gathered) gathered->wait();
  const double loss_sum = ops::sum(losses_);
  if (dh) {
    weight_->grad_written();
    if (bias_ != nullptr) bias_->grad_written();
    // Each rank's slice of the vocabulary gave a part of dh: f's backward sums them.
    if (!partial_dh_) copy_to_tensor_parallel_region_backward(*tp_, *dh);
  }
  return loss_sum;
}

void OutputHead::project(const Tensor& h, Tensor& logits) {
  weight_->value_needed();
  const int64_t N = h.dim(0), V = weight_->real_rows();
  if (bias_ != nullptr) bias_->value_needed();
  if (tp_->size() == 1) {
    Tensor::ensure(logits, {N, V}, h.dtype(), h.device());
    ops::gemm(h, false, weight_->value.rows(0, V), true, logits);
    add_bias(logits, V);
    return;
  }
  // Inference under tensor parallelism: every rank gathers the full logits,
  // padding columns included, and keeps the real vocabulary's.
  const int64_t V_local = weight_->value.dim(0);
  Tensor::ensure(local_logits_, {N, V_local}, h.dtype(), h.device());
  ops::gemm(h, false, weight_->value, true, local_logits_);
  if (bias_ != nullptr) ops::add_bias(bias_->value, local_logits_);
  if (weight_->padded_rows == 0) {
    gather_from_tensor_parallel_region_forward(*tp_, local_logits_, gathered_, logits);
    return;
  }
  gather_from_tensor_parallel_region_forward(*tp_, local_logits_, gathered_, padded_logits_);
  Tensor::ensure(logits, {N, V}, h.dtype(), h.device());
  for (int64_t n = 0; n < N; ++n) {  // inference: a handful of rows
    logits.rows(n, n + 1).copy_from(
        padded_logits_.rows(n, n + 1).view({-1}).rows(0, V).view({1, V}));
  }
}

}  // namespace weft
