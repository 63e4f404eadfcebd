// The GPU's reductions into shared rows (embedding gradients with repeated
// ids, layer norm's and RMS norm's parameter gradients, bias gradients, alone
// or from cuBLASLt's epilogue) must not depend on scheduling: two runs on the
// same inputs give the same bits. Sizes are large enough to spread over
// every SM.

#include <gtest/gtest.h>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/backend/embedding.h"
#include "weft/backend/layer_norm.h"
#include "weft/backend/linear.h"
#include "weft/backend/rms_norm.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

class DeterminismGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(DeterminismGpu);

// ~220 repeats of each of 37 ids; then a middle shard of a GPT-2-sized
// vocabulary, with ids on both sides of it.
TEST_P(DeterminismGpu, EmbeddingBackward) {
  struct Case {
    int32_t vocab;
    int64_t rows, offset;
  };
  Seeds seeds;
  for (const Case& c : {Case{37, 50, 0}, Case{50304, 16768, 16768}}) {
    SCOPED_TRACE(detail::concat("rows [", c.offset, ", ", c.offset + c.rows, ") of ", c.vocab));
    const Tensor ids = random_ids({16, 512}, c.vocab, seeds.next()).to(Device::CUDA);
    const Operand dout = random_operand({16, 512, 768}, dtype(), seeds.next());
    const Operand start = random_operand({c.rows, 768}, dtype(), seeds.next());
    Tensor first = start.gpu.clone(), second = start.gpu.clone();
    ops::embedding_backward(dout.gpu, ids, 1.0, c.offset, first);
    ops::embedding_backward(dout.gpu, ids, 1.0, c.offset, second);
    EXPECT_TRUE(same_bits("embedding_backward", "dtable", first, second));
  }
}

TEST_P(DeterminismGpu, LayerNormBackward) {
  Seeds seeds;
  const int64_t rows = 8192, d = 1000;
  const Operand x = random_operand({rows, d}, dtype(), seeds.next(), -2.0, 3.0);
  const Operand dy = random_operand({rows, d}, dtype(), seeds.next());
  const Operand gamma = random_operand({d}, dtype(), seeds.next(), 0.5, 1.5);
  const Operand beta = random_operand({d}, dtype(), seeds.next());
  Tensor y = Tensor::empty({rows, d}, dtype(), Device::CUDA);
  Tensor mean = Tensor::empty({rows}, dtype(), Device::CUDA);
  Tensor rstd = Tensor::empty({rows}, dtype(), Device::CUDA);
  ops::layer_norm_forward(x.gpu, gamma.gpu, beta.gpu, 1e-5, y, mean, rstd);
  Tensor dx[2], dgamma[2], dbeta[2];
  for (int run = 0; run < 2; ++run) {
    dx[run] = Tensor::empty({rows, d}, dtype(), Device::CUDA);
    dgamma[run] = Tensor::zeros({d}, dtype(), Device::CUDA);
    dbeta[run] = Tensor::zeros({d}, dtype(), Device::CUDA);
    ops::layer_norm_backward(dy.gpu, x.gpu, gamma.gpu, mean, rstd, dx[run], dgamma[run],
                             dbeta[run]);
  }
  EXPECT_TRUE(same_bits("layer_norm_backward", "dx", dx[0], dx[1]));
  EXPECT_TRUE(same_bits("layer_norm_backward", "dgamma", dgamma[0], dgamma[1]));
  EXPECT_TRUE(same_bits("layer_norm_backward", "dbeta", dbeta[0], dbeta[1]));
}

TEST_P(DeterminismGpu, RmsNormBackward) {
  Seeds seeds;
  const int64_t rows = 8192, d = 1000;
  const Operand x = random_operand({rows, d}, dtype(), seeds.next(), -2.0, 3.0);
  const Operand dy = random_operand({rows, d}, dtype(), seeds.next());
  const Operand gamma = random_operand({d}, dtype(), seeds.next(), 0.5, 1.5);
  Tensor y = Tensor::empty({rows, d}, dtype(), Device::CUDA);
  Tensor rstd = Tensor::empty({rows}, dtype(), Device::CUDA);
  ops::rms_norm_forward(x.gpu, gamma.gpu, 1e-5, y, rstd);
  Tensor dx[2], dgamma[2];
  for (int run = 0; run < 2; ++run) {
    dx[run] = Tensor::empty({rows, d}, dtype(), Device::CUDA);
    dgamma[run] = Tensor::zeros({d}, dtype(), Device::CUDA);
    ops::rms_norm_backward(dy.gpu, x.gpu, gamma.gpu, rstd, dx[run], dgamma[run]);
  }
  EXPECT_TRUE(same_bits("rms_norm_backward", "dx", dx[0], dx[1]));
  EXPECT_TRUE(same_bits("rms_norm_backward", "dgamma", dgamma[0], dgamma[1]));
}

TEST_P(DeterminismGpu, BiasBackward) {
  Seeds seeds;
  const Operand dy = random_operand({32768, 771}, dtype(), seeds.next());
  Tensor first = Tensor::zeros({771}, dtype(), Device::CUDA);
  Tensor second = Tensor::zeros({771}, dtype(), Device::CUDA);
  ops::bias_backward(dy.gpu, first);
  ops::bias_backward(dy.gpu, second);
  EXPECT_TRUE(same_bits("bias_backward", "dbias", first, second));
}

// The weight and bias gradients of a linear layer, the bias gradient from
// cuBLASLt's epilogue: f32 gradients (main gradients under bf16).
TEST_P(DeterminismGpu, LinearBackwardWeight) {
  Seeds seeds;
  const int64_t rows = 16384, out = 3072, in = 768;
  const Operand dy = random_operand({rows, out}, dtype(), seeds.next());
  const Operand x = random_operand({rows, in}, dtype(), seeds.next());
  Tensor dw[2], db[2];
  for (int run = 0; run < 2; ++run) {
    dw[run] = Tensor::zeros({out, in}, DType::F32, Device::CUDA);
    db[run] = Tensor::zeros({out}, DType::F32, Device::CUDA);
    ops::linear_backward_weight(dy.gpu, x.gpu, dw[run], db[run]);
  }
  EXPECT_TRUE(same_bits("linear_backward_weight", "dweight", dw[0], dw[1]));
  EXPECT_TRUE(same_bits("linear_backward_weight", "dbias", db[0], db[1]));
}

}  // namespace
}  // namespace weft::testing
