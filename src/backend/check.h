#pragma once
// Argument checks shared by the op files: every refusal names the op, the
// argument and what was expected.

#include <utility>

#include "weft/tensor/error.h"
#include "weft/tensor/tensor.h"

namespace weft::ops::detail {

inline bool is_floating(DType d) { return d == DType::F32 || d == DType::F64 || d == DType::BF16; }

inline void check_floating(const char* op, const char* arg, const Tensor& t) {
  WEFT_CHECK(t.defined(), op, ": ", arg, " is undefined");
  WEFT_CHECK(is_floating(t.dtype()), op, ": ", arg, " must be floating point, got ", t.describe());
}

inline void check_ids(const char* op, const char* arg, const Tensor& t) {
  WEFT_CHECK(t.defined() && t.dtype() == DType::I32, op, ": ", arg, " must be i32, got ",
             t.describe());
}

inline void check_same(const char* op, const char* arg, const Tensor& t, const Tensor& like) {
  WEFT_CHECK(t.defined() && t.shape() == like.shape() && t.dtype() == like.dtype() &&
                 t.device() == like.device(),
             op, ": ", arg, " must be ", like.describe(), ", got ", t.describe());
}

// A gradient's dtype against its values': the same, or f32 for bf16 values
// (mixed precision accumulates parameter gradients in f32: main gradients).
inline bool grad_dtype_ok(DType grad, DType value) {
  return grad == value || (value == DType::BF16 && grad == DType::F32);
}

// `grad` has like's shape and device and a gradient dtype for it.
inline void check_grad(const char* op, const char* arg, const Tensor& grad, const Tensor& like) {
  WEFT_CHECK(grad.defined() && grad.shape() == like.shape() &&
                 grad_dtype_ok(grad.dtype(), like.dtype()) && grad.device() == like.device(),
             op, ": ", arg, " must be ", like.describe(),
             like.dtype() == DType::BF16 ? " (or f32)" : "", ", got ", grad.describe());
}

inline void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& shape) {
  WEFT_CHECK(t.defined() && t.shape() == shape, op, ": ", arg, " must have shape ",
             shape_str(shape), ", got ", t.describe());
}

inline void check_device(const char* op, const char* arg, const Tensor& t, Device device) {
  WEFT_CHECK(t.device() == device, op, ": ", arg, " is on ", device_name(t.device()),
             ", expected ", device_name(device));
}

// The byte ranges of two tensors intersect: an output that must not alias an
// input (a gather, a copy that fans rows out) is refused when they do.
inline bool overlaps(const Tensor& a, const Tensor& b) {
  const char* a0 = static_cast<const char*>(a.raw());
  const char* b0 = static_cast<const char*>(b.raw());
  return a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

// A norm's input x (N...,D), named `arg`, and its gain gamma (D) of x's
// dtype on x's device.
inline void check_norm_input(const char* op, const Tensor& x, const Tensor& gamma,
                             const char* arg = "x") {
  check_floating(op, arg, x);
  WEFT_CHECK(x.rank() >= 1, op, ": ", arg, " must have at least one dimension, got ", x.describe());
  check_floating(op, "gamma", gamma);
  check_shape(op, "gamma", gamma, {x.dim(-1)});
  WEFT_CHECK(gamma.dtype() == x.dtype(), op, ": gamma must have ", arg, "'s dtype, got ",
             gamma.describe(), " and ", x.describe());
  check_device(op, "gamma", gamma, x.device());
}

// Per-row statistics of x (N...,D) cached for a backward pass (a norm's mean
// or rstd): shape (N) with N the number of rows, or x's leading dimensions;
// x's dtype, or f32 for bf16 x (mixed precision keeps them in f32); x's device.
inline void check_row_stats(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
  const Shape leading(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = x.dim(-1) == 0 ? 0 : x.numel() / x.dim(-1);
  const bool dtype_ok = t.defined() && (t.dtype() == x.dtype() ||
                                        (x.dtype() == DType::BF16 && t.dtype() == DType::F32));
  WEFT_CHECK(dtype_ok && (t.shape() == Shape{rows} || t.shape() == leading) &&
                 t.device() == x.device(),
             op, ": ", arg, " must be ", dtype_name(x.dtype()), "[", rows, "] on ",
             device_name(x.device()), " (one entry per row of ", x.describe(), "), got ",
             t.describe());
}

// Attention's operands: q (B,Tq,H,Dh), k and v (B,Tk,H,Dh), one floating
// dtype, all on q's device.
inline void check_qkv(const char* op, const Tensor& q, const Tensor& k, const Tensor& v) {
  for (const auto& [arg, t] : {std::pair<const char*, const Tensor*>{"q", &q}, {"k", &k}}) {
    check_floating(op, arg, *t);
    WEFT_CHECK(t->rank() == 4, op, ": ", arg, " must be (B,T,H,Dh), got ", t->describe());
  }
  check_shape(op, "k", k, {q.dim(0), k.dim(1), q.dim(2), q.dim(3)});
  WEFT_CHECK(k.dtype() == q.dtype(), op, ": k must have q's dtype, got ", k.describe(), " and ",
             q.describe());
  check_device(op, "k", k, q.device());
  check_same(op, "v", v, k);
}

// Attention's key mask: (B,Tk) i32 on q's device, or undefined (no padding).
inline void check_key_valid(const char* op, const Tensor& key_valid, const Tensor& q,
                            const Tensor& k) {
  if (!key_valid.defined()) return;
  check_ids(op, "key_valid", key_valid);
  check_shape(op, "key_valid", key_valid, {q.dim(0), k.dim(1)});
  check_device(op, "key_valid", key_valid, q.device());
}

// Cross-entropy's inputs: logits (N,V) floating, targets (N) i32 on the
// logits' device. `shape` names the logits' shape in messages.
inline void check_logits_and_targets(const char* op, const Tensor& logits, const Tensor& targets,
                                     const char* shape) {
  check_floating(op, "logits", logits);
  WEFT_CHECK(logits.rank() == 2, op, ": logits must be ", shape, ", got ", logits.describe());
  check_ids(op, "targets", targets);
  check_shape(op, "targets", targets, {logits.dim(0)});
  check_device(op, "targets", targets, logits.device());
}

// Cross-entropy's outputs and smoothing: losses (N) of the logits' dtype (f32
// for bf16 logits: mixed precision keeps the loss in f32), dlogits like the
// logits or undefined, label_smoothing in [0, 1].
inline void check_loss_outputs(const char* op, const Tensor& logits, const Tensor& losses,
                               const Tensor& dlogits, double label_smoothing) {
  check_shape(op, "losses", losses, {logits.dim(0)});
  WEFT_CHECK(losses.dtype() == logits.dtype() ||
                 (logits.dtype() == DType::BF16 && losses.dtype() == DType::F32),
             op, ": losses must have the logits' dtype ", dtype_name(logits.dtype()),
             " (or f32 for bf16 logits), got ", losses.describe());
  check_device(op, "losses", losses, logits.device());
  if (dlogits.defined()) check_same(op, "dlogits", dlogits, logits);
  WEFT_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, op,
             ": label_smoothing must be in [0, 1], got ", label_smoothing);
}

}  // namespace weft::ops::detail
