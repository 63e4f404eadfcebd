// The fused linear layer (bias, GELU and bias-gradient epilogues) on the GPU
// against the CPU in f64. The fused ops' reference is the same steps one
// after another on the CPU, as linear.h defines them.

#include <gtest/gtest.h>

#include "backend/cuda/lt_matmul.h"
#include "gpu_testing.h"
#include "weft/backend/activation.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/gemm.h"
#include "weft/backend/linear.h"

namespace weft::testing {
namespace {

class LinearGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(LinearGpu);

struct LinearCase {
  Shape x;
  int64_t out;
  bool bias, gelu;
};

TEST_P(LinearGpu, ForwardWithEveryEpilogue) {
  const std::vector<LinearCase> cases = {
      {{3, 13, 67}, 101, true, true},  {{3, 13, 67}, 101, true, false},
      {{3, 13, 67}, 101, false, true}, {{3, 13, 67}, 101, false, false},
      {{200, 64}, 256, true, true},    {{1, 5}, 3, true, false},
  };
  Seeds seeds;
  for (const LinearCase& l : cases) {
    SCOPED_TRACE("x " + shape_str(l.x) + " -> " + std::to_string(l.out) +
                 (l.bias ? ", bias" : "") + (l.gelu ? ", gelu" : ""));
    const int64_t in = l.x.back();
    Shape y_shape = l.x;
    y_shape.back() = l.out;
    const Operand x = random_operand(l.x, dtype(), seeds.next(), -2.0, 2.0);
    const Operand w = random_operand({l.out, in}, dtype(), seeds.next(), -0.5, 0.5);
    const Operand bias = l.bias ? random_operand({l.out}, dtype(), seeds.next()) : Operand{};

    Tensor pre_ref = Tensor::zeros(y_shape, DType::F64), y_ref = Tensor::zeros(y_shape, DType::F64);
    ops::gemm(x.ref, false, w.ref, true, pre_ref);
    if (l.bias) ops::add_bias(bias.ref, pre_ref);
    if (l.gelu) {
      ops::activation_forward(ops::Activation::GELU, pre_ref, y_ref);
    } else {
      y_ref.copy_from(pre_ref);
    }

    Tensor pre = l.gelu ? poisoned(y_shape, dtype()) : Tensor();
    Tensor y = poisoned(y_shape, dtype());
    ops::linear_forward(x.gpu, w.gpu, bias.gpu, l.gelu, pre, y);
    EXPECT_TRUE(close_to_cpu("linear_forward", "y", y, y_ref, budget()));
    if (l.gelu) {
      EXPECT_TRUE(close_to_cpu("linear_forward", "pre", pre, pre_ref, budget()));
    }
  }
}

TEST_P(LinearGpu, BackwardThroughGelu) {
  struct Case {
    Shape dy;
    int64_t in;
  };
  const std::vector<Case> cases = {{{3, 13, 101}, 67}, {{200, 256}, 64}, {{1, 3}, 5}};
  Seeds seeds;
  for (const Case& c : cases) {
    SCOPED_TRACE("dy " + shape_str(c.dy) + ", in " + std::to_string(c.in));
    Shape pre_shape = c.dy;
    pre_shape.back() = c.in;
    const Operand dy = random_operand(c.dy, dtype(), seeds.next());
    const Operand w = random_operand({c.dy.back(), c.in}, dtype(), seeds.next(), -0.5, 0.5);
    const Operand pre = random_operand(pre_shape, dtype(), seeds.next(), -4.0, 4.0);

    Tensor grad_ref = Tensor::zeros(pre_shape, DType::F64);
    Tensor dpre_ref = Tensor::zeros(pre_shape, DType::F64);
    ops::gemm(dy.ref, false, w.ref, false, grad_ref);
    ops::activation_backward(ops::Activation::GELU, pre.ref, grad_ref, dpre_ref);

    Tensor dpre = poisoned(pre_shape, dtype());
    ops::linear_backward_gelu(dy.gpu, w.gpu, pre.gpu, dpre);
    EXPECT_TRUE(close_to_cpu("linear_backward_gelu", "dpre", dpre, dpre_ref, budget()));
  }
}

// Two micro-batches accumulated into gradients that start from random
// values: f32 gradients of f32 dy and x, or f32 main gradients of bf16 ones,
// within the f32 budget either way.
TEST_P(LinearGpu, WeightGradients) {
  struct Case {
    Shape rows;  // dy (rows..., out), x (rows..., in)
    int64_t out, in;
    bool bias;
  };
  // GPT-2's vocabulary (out off every multiple of 8), a transformer's MLP
  // (where the epilogue applies), odd sizes and a single row.
  const std::vector<Case> cases = {
      {{37}, 50257, 768, true},  {{37}, 50257, 768, false}, {{8, 128}, 3072, 768, true},
      {{1024}, 768, 3072, true}, {{3, 13}, 101, 67, true},  {{1}, 3, 5, true},
  };
  Seeds seeds;
  for (const Case& c : cases) {
    SCOPED_TRACE("rows " + shape_str(c.rows) + ", out " + std::to_string(c.out) + ", in " +
                 std::to_string(c.in) + (c.bias ? ", bias" : ""));
    Shape dy_shape = c.rows, x_shape = c.rows;
    dy_shape.push_back(c.out);
    x_shape.push_back(c.in);
    Operand dw = random_operand({c.out, c.in}, DType::F32, seeds.next());
    Operand db = c.bias ? random_operand({c.out}, DType::F32, seeds.next()) : Operand{};
    for (int micro_batch = 0; micro_batch < 2; ++micro_batch) {
      const Operand dy = random_operand(dy_shape, dtype(), seeds.next());
      const Operand x = random_operand(x_shape, dtype(), seeds.next());
      ops::linear_backward_weight(dy.ref, x.ref, dw.ref, db.ref);
      ops::linear_backward_weight(dy.gpu, x.gpu, dw.gpu, db.gpu);
    }
    const double f32_budget = gpu_budget(DType::F32);
    EXPECT_TRUE(close_to_cpu("linear_backward_weight", "dweight", dw.gpu, dw.ref, f32_budget));
    if (c.bias) {
      EXPECT_TRUE(close_to_cpu("linear_backward_weight", "dbias", db.gpu, db.ref, f32_budget));
    }
  }
}

// The bias-gradient epilogue itself at a transformer's weight-gradient
// shapes: cuBLASLt must take it (otherwise linear_backward_weight runs
// unfused without saying so), and the vector it writes is Σ_rows dy.
TEST_P(LinearGpu, BiasGradientEpilogueIsTaken) {
  struct Case {
    int64_t rows, out, in;
  };
  const std::vector<Case> cases = {
      {1024, 3072, 768}, {1024, 768, 3072}, {1024, 2304, 768}, {512, 50304, 768}};
  Seeds seeds;
  for (const Case& c : cases) {
    SCOPED_TRACE("rows " + std::to_string(c.rows) + ", out " + std::to_string(c.out) + ", in " +
                 std::to_string(c.in));
    const Operand dy = random_operand({c.rows, c.out}, dtype(), seeds.next());
    const Operand x = random_operand({c.rows, c.in}, dtype(), seeds.next());
    Tensor dw = Tensor::zeros({c.out, c.in}, DType::F32, Device::CUDA);
    Tensor db = poisoned({c.out}, DType::F32);
    cuda::LtMatmul p;  // dw (out,in) += dyᵀ·x, as linear_backward_weight asks for it
    p.dtype = dtype();
    p.f32_c = dtype() == DType::BF16;
    p.trans_a = true;
    p.m = c.out;
    p.n = c.in;
    p.k = c.rows;
    p.a = dy.gpu.raw();
    p.lda = c.out;
    p.b = x.gpu.raw();
    p.ldb = c.in;
    p.c = dw.raw();
    p.ldc = c.in;
    p.beta = 1.0f;
    p.epilogue = cuda::LtEpilogue::BiasGradient;
    p.bias_grad = db.raw();
    ASSERT_TRUE(cuda::try_lt_matmul("bias gradient test", p))
        << "cuBLASLt declined CUBLASLT_EPILOGUE_BGRADB";
    Tensor db_ref = Tensor::zeros({c.out}, DType::F64);
    ops::bias_backward(dy.ref, db_ref);
    EXPECT_TRUE(close_to_cpu("BGRADB", "bias_grad", db, db_ref, gpu_budget(DType::F32)));
  }
}

}  // namespace
}  // namespace weft::testing
