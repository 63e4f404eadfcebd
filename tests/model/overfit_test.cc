// Both families can memorise one fixed batch: the whole training path
// (forward, backward, AdamW) works together. Loss is measured without
// dropout or label smoothing.

#include <gtest/gtest.h>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"
#include "weft/train/adamw.h"
#include "weft/tensor/allocator.h"
#include "weft/train/clip.h"

namespace weft {
namespace {

double train_on_fixed_batch(Model& model, const Batch& batch, int steps, double lr) {
  AdamW optimizer(model.parameters(), AdamWOptions{0.9, 0.98, 1e-8, 0.0});
  const int64_t tokens = model.forward(batch, StepContext{}).tokens;
  for (int step = 1; step <= steps; ++step) {
    model.zero_grad();
    model.forward_backward(batch, StepContext{true, 1, static_cast<uint64_t>(step)},
                           1.0 / static_cast<double>(tokens));
    const double norm = global_grad_norm(model.parameters());
    optimizer.step(lr, clip_coefficient(norm, 1.0));
  }
  return model.forward(batch, StepContext{}).mean();
}

TEST(Overfit, TinyGptMemorisesABatch) {
  ModelConfig c = model_preset("tiny-gpt");
  c.vocab_size = 29, c.d_model = 32, c.n_heads = 4, c.d_ff = 64, c.max_seq_len = 12;
  auto model = make_model(c);
  initialize_parameters(model->parameters(), 1);
  Batch b;
  b.input = testing::random_ids({4, 12}, 29, 7);
  for (int32_t row = 0; row < 4; ++row) b.input.data<int32_t>()[row * 12] = row;  // distinct starts
  b.target = testing::random_ids({4, 12}, 29, 8);
  const double before = model->forward(b, StepContext{}).mean();
  const double after = train_on_fixed_batch(*model, b, 300, 1e-2);
  EXPECT_GT(before, 3.0);
  EXPECT_LT(after, 0.05) << "loss went from " << before;
}

TEST(Overfit, TinyEncoderDecoderMemorisesABatch) {
  ModelConfig c = model_preset("tiny-encoder-decoder");
  c.vocab_size = 23, c.d_model = 32, c.n_heads = 4, c.d_ff = 64, c.label_smoothing = 0.0;
  c.pad_id = 0;
  auto model = make_model(c);
  initialize_parameters(model->parameters(), 2);
  Batch b;
  b.source = testing::random_ids({4, 9}, 22, 3);
  for (int64_t i = 0; i < b.source.numel(); ++i) b.source.data<int32_t>()[i] += 1;
  b.source.data<int32_t>()[8] = 0;  // a padded source position
  b.input = testing::random_ids({4, 8}, 23, 4);
  b.target = testing::random_ids({4, 8}, 23, 5);
  b.target.data<int32_t>()[7] = kIgnoreIndex;
  const double before = model->forward(b, StepContext{}).mean();
  const double after = train_on_fixed_batch(*model, b, 300, 1e-2);
  EXPECT_GT(before, 2.5);
  EXPECT_LT(after, 0.05) << "loss went from " << before;
}

// Buffers are sized once per (batch, sequence) shape: after the first step,
// forward, backward and the optimizer allocate no tensor storage.
TEST(Memory, SteadyStateStepsAllocateNothing) {
  for (const char* preset : {"tiny-gpt", "tiny-encoder-decoder"}) {
    ModelConfig c = model_preset(preset);
    c.dropout = 0.1, c.pad_id = 0;
    auto model = make_model(c);
    initialize_parameters(model->parameters(), 3);
    AdamW optimizer(model->parameters(), AdamWOptions{});
    Batch b;
    b.source = testing::random_ids({3, 7}, 32, 1);
    b.input = testing::random_ids({3, 9}, 32, 2);
    b.target = testing::random_ids({3, 9}, 32, 3);
    auto step = [&](uint64_t n) {
      model->zero_grad();
      model->forward_backward(b, StepContext{true, 1, n}, 1.0 / 27);
      optimizer.step(1e-3, clip_coefficient(global_grad_norm(model->parameters()), 1.0));
    };
    step(1);
    const int64_t before = allocation_count();
    step(2);
    step(3);
    EXPECT_EQ(allocation_count(), before) << preset;
  }
}

}  // namespace
}  // namespace weft
