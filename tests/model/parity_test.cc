// weft against an independent PyTorch float64 implementation of both model
// families (tests/reference/make_fixture.py): logits, loss, every gradient,
// and five AdamW steps with gradient clipping. Models built in F32 must agree
// to 1e-4 relative; built in F64 they must agree to ~1e-10, which leaves no
// room for a wrong formula hiding under float32 rounding.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "reference_fixture.h"
#include "support/tensor_testing.h"
#include "weft/tensor/safetensors.h"
#include "weft/train/adamw.h"
#include "weft/train/clip.h"

namespace weft {
namespace {

using testing::matches_reference;
using testing::max_abs;
using testing::ReferenceFixture;

struct ParityCase {
  const char* file;
  DType dtype;
  double rel;  // relative tolerance of every comparison
};

std::string case_name(const ::testing::TestParamInfo<ParityCase>& info) {
  std::string file = info.param.file;
  file = file.substr(0, file.find('.'));
  return file + "_" + dtype_name(info.param.dtype);
}

class ParityTest : public ::testing::TestWithParam<ParityCase> {
 protected:
  void SetUp() override {
    fixture_ = std::make_unique<ReferenceFixture>(GetParam().file);
    ASSERT_TRUE(fixture_->build(GetParam().dtype, model_));
    training_.training = true;
  }

  // |actual − expected| <= rel · |expected| for a scalar.
  ::testing::AssertionResult close(const char* what, double actual, double expected) const {
    const double rel = GetParam().rel;
    if (std::abs(actual - expected) <= rel * std::abs(expected)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << what << ": weft " << actual << ", reference " << expected << " (rel err "
           << std::abs(actual - expected) / std::abs(expected) << " > " << rel << ")";
  }

  // The gradients' overall scale: elements of a gradient whose values are all
  // near zero (e.g. the key bias, analytically zero) are judged against it.
  double gradient_scale() const {
    double scale = 0.0;
    for (Parameter* p : model_->parameters()) {
      scale = std::max(scale, max_abs(fixture_->at("grad." + p->name)));
    }
    return scale;
  }

  std::unique_ptr<ReferenceFixture> fixture_;
  std::unique_ptr<Model> model_;
  StepContext training_;
};

TEST_P(ParityTest, ParameterCountIsTheConfigs) {
  int64_t total = 0;
  for (Parameter* p : model_->parameters()) total += p->value.numel();
  EXPECT_EQ(total, model_->config().parameter_count());
}

TEST_P(ParityTest, ForwardMatchesLogitsAndLoss) {
  const ReferenceFixture& f = *fixture_;
  const LossSum train = model_->forward(f.batch(), training_);
  EXPECT_EQ(train.tokens, f.tokens());
  EXPECT_TRUE(close("training loss sum", train.sum, f.scalar("loss_sum")));
  EXPECT_TRUE(close("training mean loss", train.mean(), f.scalar("loss")));
  EXPECT_TRUE(matches_reference("logits", model_->logits(), f.at("logits"), GetParam().rel));

  // Evaluation reports plain cross-entropy: no label smoothing.
  const LossSum eval = model_->forward(f.batch(), StepContext{});
  EXPECT_TRUE(close("evaluation mean loss", eval.mean(), f.scalar("eval_loss")));
}

TEST_P(ParityTest, GradientsOfTheMeanLossMatch) {
  const ReferenceFixture& f = *fixture_;
  const LossSum loss =
      model_->forward_backward(f.batch(), training_, 1.0 / static_cast<double>(f.tokens()));
  EXPECT_EQ(loss.tokens, f.tokens());
  EXPECT_TRUE(close("training mean loss", loss.mean(), f.scalar("loss")));
  const double scale = gradient_scale();
  for (Parameter* p : model_->parameters()) {
    EXPECT_TRUE(matches_reference("grad of " + p->name, p->grad, f.at("grad." + p->name),
                                  GetParam().rel, scale));
  }
}

TEST_P(ParityTest, AdamWStepsWithClippingMatch) {
  const ReferenceFixture& f = *fixture_;
  const testing::ReferenceOptim& o = f.optim();
  const std::vector<Parameter*> params = model_->parameters();
  AdamWOptions options;
  options.beta1 = o.beta1;
  options.beta2 = o.beta2;
  options.eps = o.eps;
  options.weight_decay = o.weight_decay;
  AdamW optimizer(params, options);

  const std::vector<double> expected = f.at("train_losses").to_double_vector();
  ASSERT_EQ(static_cast<int>(expected.size()), o.steps);
  for (int step = 0; step < o.steps; ++step) {
    model_->zero_grad();
    const LossSum loss =
        model_->forward_backward(f.batch(), training_, 1.0 / static_cast<double>(f.tokens()));
    EXPECT_TRUE(close(("loss before step " + std::to_string(step + 1)).c_str(), loss.mean(),
                      expected[step]));
    const double norm = global_grad_norm(params);
    optimizer.step(o.lr, clip_coefficient(norm, o.max_grad_norm));
  }
  // A parameter whose reference gradient is zero up to rounding (the key
  // bias: softmax ignores a shift shared by all keys) takes Adam steps of
  // lr·noise/(|noise| + eps). float32's noise (~1e-9) is not small against
  // eps = 1e-8, so in F32 such a parameter can only be held to Adam's reach,
  // lr per step; the F64 case compares it to the full tolerance.
  const double scale = gradient_scale();
  for (Parameter* p : params) {
    const std::string what = p->name + " after " + std::to_string(o.steps) + " steps";
    const Tensor& expected_value = f.at("final." + p->name);
    const bool noise_driven = max_abs(f.at("grad." + p->name)) <= 1e-12 * scale;
    if (noise_driven && GetParam().dtype == DType::F32) {
      EXPECT_TRUE(testing::all_close(p->value, expected_value, 0.0, o.steps * o.lr)) << what;
    } else {
      EXPECT_TRUE(matches_reference(what, p->value, expected_value, GetParam().rel));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Reference, ParityTest,
    ::testing::Values(ParityCase{"reference_gpt.safetensors", DType::F32, 1e-4},
                      ParityCase{"reference_gpt.safetensors", DType::F64, 1e-10},
                      ParityCase{"reference_encdec.safetensors", DType::F32, 1e-4},
                      ParityCase{"reference_encdec.safetensors", DType::F64, 1e-10},
                      ParityCase{"reference_llama.safetensors", DType::F32, 1e-4},
                      ParityCase{"reference_llama.safetensors", DType::F64, 1e-10},
                      ParityCase{"reference_bert.safetensors", DType::F32, 1e-4},
                      ParityCase{"reference_bert.safetensors", DType::F64, 1e-10}),
    case_name);

// The fixture's config is the one the brief describes, so a regenerated
// fixture cannot quietly shrink what is compared.
TEST(ParityFixture, DescribesTheIntendedModels) {
  const ReferenceFixture gpt("reference_gpt.safetensors");
  EXPECT_EQ(gpt.config().architecture, Architecture::DecoderOnly);
  EXPECT_EQ(gpt.config().norm, NormPlacement::Pre);
  EXPECT_TRUE(gpt.config().tie_embeddings);
  EXPECT_EQ(gpt.batch().input.shape(), (Shape{3, 7}));
  EXPECT_EQ(gpt.at("logits").shape(), (Shape{3, 7, 23}));

  const ReferenceFixture encdec("reference_encdec.safetensors");
  EXPECT_EQ(encdec.config().architecture, Architecture::EncoderDecoder);
  EXPECT_EQ(encdec.config().norm, NormPlacement::Post);
  EXPECT_EQ(encdec.config().positions, PositionEncoding::Sinusoidal);
  EXPECT_FALSE(encdec.config().tie_embeddings);
  EXPECT_GT(encdec.config().label_smoothing, 0.0);
  EXPECT_EQ(encdec.batch().source.shape(), (Shape{3, 6}));
  EXPECT_EQ(encdec.batch().input.shape(), (Shape{3, 5}));
  EXPECT_LT(encdec.tokens(), 15) << "the batch should hold padding";

  const ReferenceFixture llama("reference_llama.safetensors");
  EXPECT_EQ(llama.config().norm_type, NormType::RMSNorm);
  EXPECT_EQ(llama.config().positions, PositionEncoding::Rotary);
  EXPECT_EQ(llama.config().ffn, FeedForwardType::SwiGLU);
  EXPECT_EQ(llama.config().kv_heads(), 2);
  EXPECT_EQ(llama.config().n_heads, 4);
  EXPECT_FALSE(llama.config().bias);
  EXPECT_FALSE(llama.config().tie_embeddings);
  EXPECT_EQ(llama.at("logits").shape(), (Shape{3, 7, 23}));
  const ReferenceFixture bert("reference_bert.safetensors");
  EXPECT_EQ(bert.config().architecture, Architecture::EncoderOnly);
  EXPECT_EQ(bert.config().norm, NormPlacement::Post);
  EXPECT_EQ(bert.config().n_token_types, 2);
  EXPECT_EQ(bert.config().sep_id, 2);
  EXPECT_EQ(bert.config().pad_id, 0);
  EXPECT_LT(bert.tokens(), 10) << "a masked LM's loss reads a few positions";
  for (const ReferenceFixture* f : {&gpt, &encdec, &llama, &bert}) {
    EXPECT_EQ(f->optim().steps, 5);
    EXPECT_EQ(f->optim().lr, 3e-3);
  }
}

// A fixture that lacks one of weft's parameters, or holds one weft does not
// have, is refused with both names.
TEST(ParityFixture, NamesParametersMissingOnEitherSide) {
  const SafetensorsFile real = load_safetensors(WEFT_FIXTURES_DIR "/reference_gpt.safetensors");
  std::vector<std::pair<std::string, Tensor>> edited;
  for (const auto& [name, t] : real.tensors) {
    if (name == "param.decoder.final_norm.bias") continue;
    edited.emplace_back(
        name == "param.decoder.final_norm.weight" ? "param.decoder.final_ln.weight" : name, t);
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("weft_parity_edited_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  save_safetensors(path, edited, real.metadata);
  const ReferenceFixture fixture(path);
  std::filesystem::remove(path);

  std::unique_ptr<Model> model;
  const ::testing::AssertionResult built = fixture.build(DType::F32, model);
  ASSERT_FALSE(built);
  const std::string message = built.message();
  EXPECT_NE(message.find("weft parameter decoder.final_norm.bias is missing from the fixture"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("weft parameter decoder.final_norm.weight is missing"), std::string::npos)
      << message;
  EXPECT_NE(message.find("fixture parameter decoder.final_ln.weight is not in weft"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace weft
