// Both model families end to end: the gradient of the summed loss with
// respect to every parameter against finite differences (F64, dropout and
// label smoothing on, padding in the batch).

#include <gtest/gtest.h>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"

namespace weft {
namespace {

using testing::all_close;
using testing::numeric_gradient;

const LayerContext kF64{DType::F64, Device::CPU};

ModelConfig tiny(const std::string& preset, NormPlacement norm, bool tied) {
  ModelConfig c = model_preset(preset);
  c.vocab_size = 11;
  c.d_model = 8, c.n_heads = 2, c.d_ff = 12, c.max_seq_len = 6;
  c.n_layers = 2;
  if (c.architecture == Architecture::EncoderDecoder) c.n_encoder_layers = 1;
  c.norm = norm;
  c.tie_embeddings = tied;
  c.dropout = 0.15;
  c.label_smoothing = 0.1;
  c.pad_id = 0;
  c.init_std = 0.3;
  return c;
}

Batch tiny_batch(bool with_source) {
  Batch b;
  // Row 1 ends in padding: pad keys are masked and their targets ignored.
  b.input = Tensor::from_vector(std::vector<int32_t>{3, 5, 7, 2, 9, 4, 6, 1, 0, 0}, {2, 5});
  b.target = Tensor::from_vector(std::vector<int32_t>{5, 7, 2, 9, 1, 6, 1, 8, -1, -1}, {2, 5});
  if (with_source) {
    b.source = Tensor::from_vector(std::vector<int32_t>{4, 4, 9, 10, 3, 2, 0, 0}, {2, 4});
  }
  return b;
}

class ModelGradient
    : public ::testing::TestWithParam<std::tuple<std::string, NormPlacement, bool>> {};

TEST_P(ModelGradient, EveryParameterMatchesFiniteDifferences) {
  auto [preset, norm, tied] = GetParam();
  ModelConfig config = tiny(preset, norm, tied);
  auto model = make_model(config, kF64);
  initialize_parameters(model->parameters(), 17);
  const Batch batch = tiny_batch(config.architecture == Architecture::EncoderDecoder);
  const StepContext step{/*training=*/true, /*seed=*/11, /*step=*/3};

  model->zero_grad();
  const LossSum analytic_loss = model->forward_backward(batch, step, 1.0);
  EXPECT_EQ(analytic_loss.tokens, 8);
  EXPECT_NEAR(analytic_loss.sum, model->forward(batch, step).sum, 1e-12);

  auto loss = [&] { return model->forward(batch, step).sum; };
  for (Parameter* p : model->parameters()) {
    const Tensor analytic = p->grad.clone();
    EXPECT_TRUE(all_close(analytic, numeric_gradient(loss, p->value), 1e-6, 1e-8)) << p->name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, ModelGradient,
    ::testing::Values(std::make_tuple("tiny-gpt", NormPlacement::Pre, true),
                      std::make_tuple("tiny-gpt", NormPlacement::Post, false),
                      std::make_tuple("tiny-encoder-decoder", NormPlacement::Post, true),
                      std::make_tuple("tiny-encoder-decoder", NormPlacement::Pre, false)));

}  // namespace
}  // namespace weft
