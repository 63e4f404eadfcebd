#pragma once
#include <vector>

#include "weft/tensor/tensor.h"

namespace weft::ops {

void fill(Tensor& x, double value);
void scale(Tensor& x, double alpha);                           // x *= alpha
void axpy(double alpha, const Tensor& x, Tensor& y);           // y += alpha · x
void add(const Tensor& a, const Tensor& b, Tensor& out);       // out = a + b; out may alias
// Bias over the last dimension: y (N...,C), bias (C).
void add_bias(const Tensor& bias, Tensor& y);                  // y[n] += bias
void bias_backward(const Tensor& dy, Tensor& dbias);           // dbias += Σ_n dy[n]
// Σ x and Σ x², accumulated in double (losses, global gradient norm); the
// same bits whatever the thread count.
double sum(const Tensor& x);
double sum_squares(const Tensor& x);
// sum_squares of each tensor (all on one device), in order. On CUDA the
// reductions queue one after another and the host waits once for all.
std::vector<double> sum_squares_many(const std::vector<Tensor>& xs);
// Copy with conversion between floating dtypes (f32 <-> f64 <-> bf16).
void convert(const Tensor& src, Tensor& dst);

}  // namespace weft::ops
