// AdamW on the GPU against the CPU in f64: the single-tensor update in f32
// and bf16, and the multi-tensor update over tensors of odd sizes with their
// own weight decays, with and without f32 master weights, and with f32
// grads beside bf16 params (main gradients). Each tensor is
// judged by the budget of its own dtype (master weights and moments are f32
// even in a bf16 run), and an f32 parameter also by its update alone, which
// the comparison of whole values would hide under the weights' magnitude.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "weft/backend/adamw.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

ops::AdamWStep step_options(int64_t step) {
  ops::AdamWStep s;
  s.lr = 0.05;
  s.beta1 = 0.9;
  s.beta2 = 0.95;
  s.eps = 1e-8;
  s.weight_decay = 0.1;
  s.step = step;
  s.grad_scale = 0.7;
  return s;
}

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {{1}, {7}, {1001}, {4099}, {37, 67}, {65536}};
  return all;
}

// One parameter's tensors on both sides: state from an earlier step when
// step > 1, zero moments at step 1. The grad is `grad_dtype`, the param's
// dtype unless it is an f32 main gradient.
struct State {
  Operand param, grad, m, v, master;
  Tensor before;  // the value the update starts from, f64 on the host
};

State state_for(const Shape& shape, DType dtype, DType grad_dtype, DType state_dtype,
                bool with_master, int64_t step, Seeds& seeds) {
  State s;
  s.grad = random_operand(shape, grad_dtype, seeds.next());
  if (step == 1) {
    s.m = {Tensor::zeros(shape, state_dtype, Device::CUDA), Tensor::zeros(shape, DType::F64)};
    s.v = {Tensor::zeros(shape, state_dtype, Device::CUDA), Tensor::zeros(shape, DType::F64)};
  } else {
    s.m = random_operand(shape, state_dtype, seeds.next(), -0.1, 0.1);
    s.v = random_operand(shape, state_dtype, seeds.next(), 0.0, 0.01);
  }
  if (with_master) {
    s.master = random_operand(shape, DType::F32, seeds.next());
    s.param.gpu = Tensor::empty(shape, dtype, Device::CUDA);
    ops::convert(s.master.gpu, s.param.gpu);
    s.before = host_f64(s.master.gpu);
  } else {
    s.param = random_operand(shape, dtype, seeds.next());
    s.before = host_f64(s.param.gpu);
  }
  return s;
}

Tensor difference(const Tensor& after, const Tensor& before) {
  Tensor d = host_f64(after);
  ops::axpy(-1.0, before, d);
  return d;
}

// Compares every tensor the update wrote, each within its dtype's budget.
void expect_updated(const std::string& op, const State& s, const Tensor& updated_ref) {
  const Tensor& updated = s.master.gpu.defined() ? s.master.gpu : s.param.gpu;
  const char* name = s.master.gpu.defined() ? "master" : "param";
  EXPECT_TRUE(close_to_cpu(op, name, updated, updated_ref, gpu_budget(updated.dtype())));
  if (updated.dtype() == DType::F32) {
    EXPECT_TRUE(close_to_cpu(op, std::string(name) + " update", difference(updated, s.before),
                             difference(updated_ref, s.before), gpu_budget(DType::F32)));
  }
  EXPECT_TRUE(close_to_cpu(op, "m", s.m.gpu, s.m.ref, gpu_budget(s.m.gpu.dtype())));
  EXPECT_TRUE(close_to_cpu(op, "v", s.v.gpu, s.v.ref, gpu_budget(s.v.gpu.dtype())));
  if (s.master.gpu.defined()) {
    Tensor rounded = Tensor::empty(s.param.gpu.shape(), s.param.gpu.dtype(), Device::CUDA);
    ops::convert(s.master.gpu, rounded);
    EXPECT_TRUE(same_bits(op, "param (the master weights rounded)", s.param.gpu, rounded));
  }
}

class AdamWGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(AdamWGpu);

TEST_P(AdamWGpu, SingleTensor) {
  Seeds seeds;
  for (int64_t step : {1, 7}) {
    for (const Shape& shape : shapes()) {
      SCOPED_TRACE(detail::concat(shape_str(shape), ", step ", step));
      State s = state_for(shape, dtype(), dtype(), dtype(), false, step, seeds);
      const ops::AdamWStep options = step_options(step);
      Tensor param_ref = s.before.clone();
      ops::adamw_update(param_ref, s.grad.ref, s.m.ref, s.v.ref, options);
      ops::adamw_update(s.param.gpu, s.grad.gpu, s.m.gpu, s.v.gpu, options);
      expect_updated("adamw_update", s, param_ref);
    }
  }
}

// One update of every shape in one launch, at steps 1 and 7. A bf16 run is
// in mixed precision: bf16 params, f32 master weights and moments, and bf16
// grads or, with main_grads, f32 grads for every other tensor, so that one
// launch holds both grad layouts.
void expect_update_many(DType dtype, bool main_grads) {
  const bool mixed = dtype == DType::BF16;
  Seeds seeds;
  for (int64_t step : {1, 7}) {
    SCOPED_TRACE(detail::concat("step ", step, mixed ? ", f32 master weights" : "",
                                main_grads ? ", f32 grads for odd tensors" : ""));
    const ops::AdamWStep options = step_options(step);
    std::vector<State> states;
    std::vector<ops::AdamWTensor> list;
    for (size_t i = 0; i < shapes().size(); ++i) {
      const DType grad_dtype = main_grads && i % 2 == 1 ? DType::F32 : dtype;
      states.push_back(state_for(shapes()[i], dtype, grad_dtype, DType::F32, mixed, step, seeds));
    }
    std::vector<Tensor> updated_ref;
    for (size_t i = 0; i < states.size(); ++i) {
      State& s = states[i];
      const double weight_decay = i % 3 == 0 ? 0.0 : 0.01 * static_cast<double>(i);
      ops::AdamWStep own = options;
      own.weight_decay = weight_decay;
      updated_ref.push_back(s.before.clone());
      ops::adamw_update(updated_ref.back(), s.grad.ref, s.m.ref, s.v.ref, own);
      list.push_back({&s.param.gpu, &s.grad.gpu, &s.m.gpu, &s.v.gpu,
                      mixed ? &s.master.gpu : nullptr, weight_decay});
    }
    ops::adamw_update_many(list, options);
    for (size_t i = 0; i < states.size(); ++i) {
      SCOPED_TRACE(detail::concat("tensor ", i, " ", shape_str(shapes()[i]), ", grad ",
                                  dtype_name(states[i].grad.gpu.dtype())));
      expect_updated("adamw_update_many", states[i], updated_ref[i]);
    }
  }
}

TEST_P(AdamWGpu, ManyTensorsInOneUpdate) {
  expect_update_many(dtype(), false);
}

// Main gradients: f32 grads of bf16 params, read at full precision (the
// f32 budget of the master's update would not hold for grads read as bf16).
class AdamWMainGradientGpu : public GpuTest {};

TEST_F(AdamWMainGradientGpu, F32GradsBesideBf16Params) {
  expect_update_many(DType::BF16, true);
}

}  // namespace
}  // namespace weft::testing
