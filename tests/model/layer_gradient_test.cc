// Every layer's backward against central finite differences of its forward,
// in F64, on odd sizes. Each check projects the output on fixed random
// weights w, so the scalar checked is L = Σ y·w and dL/dy = w.

#include <gtest/gtest.h>

#include <functional>

#include "support/tensor_testing.h"
#include "weft/model/attention.h"
#include "weft/model/block.h"
#include "weft/model/feed_forward.h"
#include "weft/model/linear.h"
#include "weft/model/norm.h"
#include "weft/model/residual.h"

namespace weft {
namespace {

using testing::all_close;
using testing::dot;
using testing::numeric_gradient;
using testing::random_tensor;

const LayerContext kF64{DType::F64, Device::CPU};
constexpr double kRel = 1e-6, kAbs = 1e-8;

// Checks dL/dx (from `backward`) and every parameter's gradient against
// finite differences of L = Σ forward(x)·w.
void check_gradients(Module& module, Tensor& x, const Shape& out_shape,
                     const std::function<void(const Tensor&, Tensor&)>& forward,
                     const std::function<void(const Tensor& dy, Tensor& dx)>& backward) {
  Tensor y = Tensor::zeros(out_shape, DType::F64);
  const Tensor w = random_tensor(out_shape, DType::F64, 99);
  auto loss = [&] {
    forward(x, y);
    return dot(y, w);
  };
  module.zero_grad();
  forward(x, y);
  Tensor dx = Tensor::zeros(x.shape(), DType::F64);
  backward(w, dx);

  EXPECT_TRUE(all_close(dx, numeric_gradient(loss, x), kRel, kAbs)) << "input gradient";
  for (Parameter* p : module.parameters()) {
    const Tensor analytic = p->grad.clone();
    EXPECT_TRUE(all_close(analytic, numeric_gradient(loss, p->value), kRel, kAbs)) << p->name;
  }
}

TEST(LayerGradient, Linear) {
  Linear linear("lin", 7, 5, kF64);
  initialize_parameters(linear.parameters(), 1);
  Tensor x = random_tensor({3, 2, 7}, DType::F64, 2);
  check_gradients(
      linear, x, {3, 2, 5}, [&](const Tensor& in, Tensor& out) { linear.forward(in, out); },
      [&](const Tensor& dy, Tensor& dx) { linear.backward(x, dy, dx); });
}

class NormGradient : public ::testing::TestWithParam<NormType> {};

TEST_P(NormGradient, MatchesFiniteDifferences) {
  Norm norm("norm", GetParam(), 9, 1e-5, kF64);
  initialize_parameters(norm.parameters(), 1);
  for (Parameter* p : norm.parameters()) p->value.copy_from(random_tensor(p->value.shape(), DType::F64, 5));
  Tensor x = random_tensor({5, 9}, DType::F64, 3);
  check_gradients(
      norm, x, {5, 9}, [&](const Tensor& in, Tensor& out) { norm.forward(in, out); },
      [&](const Tensor& dy, Tensor& dx) { norm.backward(dy, x, dx); });
}

INSTANTIATE_TEST_SUITE_P(Types, NormGradient,
                         ::testing::Values(NormType::LayerNorm, NormType::RMSNorm));

// Multi-head attention, and LLaMA's: grouped-query (3 query heads per
// key/value head), rotary positions, no biases.
struct AttentionCase {
  AttentionKind kind;
  bool llama;
};

class AttentionGradient : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionGradient, MatchesFiniteDifferences) {
  const AttentionKind kind = GetParam().kind;
  const AttentionShape shape =
      GetParam().llama
          ? AttentionShape{.d_model = 24, .n_heads = 6, .n_kv_heads = 2, .rope_theta = 100.0,
                           .bias = false}
          : AttentionShape{.d_model = 15, .n_heads = 3};
  const int64_t d = shape.d_model;
  MultiHeadAttention attn("attn", shape, kind, kF64, 0.3, 0.3);
  initialize_parameters(attn.parameters(), 4);
  Tensor x = random_tensor({2, 5, d}, DType::F64, 5);
  // Cross-attention reads a memory of another length, with one padded key.
  Tensor memory = random_tensor({2, 7, d}, DType::F64, 6);
  Tensor valid = Tensor::from_vector(
      kind == AttentionKind::Cross ? std::vector<int32_t>{1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1}
                                   : std::vector<int32_t>{1, 1, 1, 1, 0, 1, 1, 1, 1, 1},
      {2, kind == AttentionKind::Cross ? 7 : 5});
  Tensor dmemory = Tensor::zeros(memory.shape(), DType::F64);
  check_gradients(
      attn, x, {2, 5, d}, [&](const Tensor& in, Tensor& out) { attn.forward(in, memory, valid, out); },
      [&](const Tensor& dy, Tensor& dx) { attn.backward(dy, x, memory, dx, dmemory); });

  if (kind == AttentionKind::Cross) {
    Tensor y = Tensor::zeros({2, 5, d}, DType::F64);
    const Tensor w = random_tensor({2, 5, d}, DType::F64, 99);
    auto loss = [&] {
      attn.forward(x, memory, valid, y);
      return dot(y, w);
    };
    EXPECT_TRUE(all_close(dmemory, numeric_gradient(loss, memory), kRel, kAbs)) << "memory gradient";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, AttentionGradient,
    ::testing::Values(AttentionCase{AttentionKind::Self, false},
                      AttentionCase{AttentionKind::CausalSelf, false},
                      AttentionCase{AttentionKind::Cross, false},
                      AttentionCase{AttentionKind::Self, true},
                      AttentionCase{AttentionKind::CausalSelf, true},
                      AttentionCase{AttentionKind::Cross, true}));

// The mlp with either activation, and SwiGLU without biases.
class FeedForwardGradient : public ::testing::TestWithParam<FeedForwardShape> {};

TEST_P(FeedForwardGradient, MatchesFiniteDifferences) {
  FeedForward ffn("ffn", GetParam(), /*dropout=*/0.25, kF64, 0.4, 0.4);
  initialize_parameters(ffn.parameters(), 7);
  Tensor x = random_tensor({3, 3, 6}, DType::F64, 8);
  StepContext step{/*training=*/true, /*seed=*/3, /*step=*/2};
  check_gradients(
      ffn, x, {3, 3, 6}, [&](const Tensor& in, Tensor& out) { ffn.forward(in, out, step); },
      [&](const Tensor& dy, Tensor& dx) { ffn.backward(dy, x, dx, step); });
}

INSTANTIATE_TEST_SUITE_P(
    Forms, FeedForwardGradient,
    ::testing::Values(FeedForwardShape{6, 11, FeedForwardType::MLP, ops::Activation::ReLU},
                      FeedForwardShape{6, 11, FeedForwardType::MLP, ops::Activation::GELU},
                      FeedForwardShape{6, 11, FeedForwardType::SwiGLU, ops::Activation::GELU,
                                       /*bias=*/false}));

void block_gradients(const ModelConfig& c, bool cross) {
  TransformerBlock block("block", c, /*causal=*/true, cross, 2, kF64);
  initialize_parameters(block.parameters(), 9);
  Tensor x = random_tensor({2, 5, 8}, DType::F64, 10);
  Tensor memory = random_tensor({2, 3, 8}, DType::F64, 11);
  Tensor dmemory = Tensor::zeros(memory.shape(), DType::F64);
  Tensor none;
  StepContext step{true, 5, 1};
  check_gradients(
      block, x, {2, 5, 8},
      [&](const Tensor& in, Tensor& out) { out.copy_from(block.forward(in, none, memory, none, step)); },
      [&](const Tensor& dy, Tensor& dx) { block.backward(dy, x, memory, dx, dmemory, step); });
}

class BlockGradient : public ::testing::TestWithParam<std::tuple<NormPlacement, bool>> {};

// A whole layer with dropout on (its masks are fixed by the step context),
// pre- and post-norm, with and without cross-attention.
TEST_P(BlockGradient, MatchesFiniteDifferences) {
  auto [norm, cross] = GetParam();
  ModelConfig c = model_preset("tiny-gpt");
  c.d_model = 8, c.n_heads = 2, c.d_ff = 13, c.norm = norm, c.dropout = 0.2, c.init_std = 0.3;
  block_gradients(c, cross);
}

// LLaMA's layer: RMS norms, grouped-query attention with rotary positions,
// SwiGLU, no biases, dropout on.
TEST(LlamaBlockGradient, MatchesFiniteDifferences) {
  ModelConfig c = model_preset("tiny-llama");
  c.d_model = 8, c.n_heads = 4, c.n_kv_heads = 2, c.d_ff = 13, c.dropout = 0.2, c.init_std = 0.3;
  block_gradients(c, /*cross=*/false);
}

INSTANTIATE_TEST_SUITE_P(Placements, BlockGradient,
                         ::testing::Combine(::testing::Values(NormPlacement::Pre, NormPlacement::Post),
                                            ::testing::Bool()));

}  // namespace
}  // namespace weft
