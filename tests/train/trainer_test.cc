// The trainer with a softmax-regression model (softmax_regression.h):
// gradient accumulation, refusal of non-finite steps, progress, evaluation.

#include "weft/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "parameter_values.h"
#include "softmax_regression.h"
#include "support/error_testing.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using testing::error_of;

using testing::SoftmaxRegression;

constexpr int64_t kVocab = 5;
constexpr int32_t X = kIgnoreIndex;

// Hands out the same batches again and again, in order.
class ListSource : public BatchStream {
 public:
  nlohmann::json state() const override { return {{"position", next_}}; }
  void restore(const nlohmann::json& state) override { next_ = state.at("position"); }
  explicit ListSource(std::vector<Batch> batches) : batches_(std::move(batches)) {}
  Batch next() override { return batches_[next_++ % batches_.size()]; }

 private:
  std::vector<Batch> batches_;
  size_t next_ = 0;
};

Batch make_batch(const std::vector<int32_t>& input, const std::vector<int32_t>& target,
                 int64_t rows) {
  const Shape shape = {rows, static_cast<int64_t>(input.size()) / rows};
  Batch b;
  b.input = Tensor::from_vector(input, shape);
  b.target = Tensor::from_vector(target, shape);
  return b;
}

Batch rows_of(const Batch& b, int64_t begin, int64_t end) {
  return Batch{Tensor(), b.input.rows(begin, end), b.target.rows(begin, end)};
}

// (4,3) with 4 ignored targets: rows 0-1 hold 5 counted, rows 2-3 hold 3, so
// a trainer that averaged per-micro-batch means would weigh them wrongly.
Batch uneven_batch() {
  return make_batch({0, 1, 2, 3, 4, 0, 1, 1, 2, 4, 3, 3}, {1, 2, X, 4, 0, 1, 2, X, X, X, 4, 0}, 4);
}

AdamWOptions adam_options() {
  AdamWOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.95;
  o.weight_decay = 0.1;
  return o;
}

TEST(Trainer, GradientAccumulationMatchesTheFullBatch) {
  const Batch full = uneven_batch();
  const ConstantSchedule schedule(0.05);
  TrainerOptions options;
  options.grad_clip = 0.2;  // the gradient norm is above it: clipping is exercised too

  SoftmaxRegression whole(kVocab);
  AdamW whole_adam(whole.parameters(), adam_options());
  Trainer whole_trainer(whole, whole_adam, schedule, options);
  ListSource whole_data({full});

  SoftmaxRegression halves(kVocab);
  AdamW halves_adam(halves.parameters(), adam_options());
  options.grad_accum = 2;
  Trainer halves_trainer(halves, halves_adam, schedule, options);
  ListSource halves_data({rows_of(full, 0, 2), rows_of(full, 2, 4)});

  for (int64_t step = 1; step <= 3; ++step) {
    const StepStats a = whole_trainer.train_step(whole_data);
    const StepStats b = halves_trainer.train_step(halves_data);
    EXPECT_EQ(a.tokens, 8);
    EXPECT_EQ(b.tokens, 8);
    EXPECT_NEAR(a.loss, b.loss, 1e-6) << "step " << step;
    EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-6) << "step " << step;
    EXPECT_GT(a.grad_norm, options.grad_clip) << "step " << step;
    const std::vector<float> wa = testing::parameter_values(whole), wb = testing::parameter_values(halves);
    ASSERT_EQ(wa.size(), wb.size());
    for (size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wb[i], 1e-6) << "step " << step;
  }

  // Each micro-batch is told where its first sequence sits in the global batch.
  ASSERT_EQ(halves.contexts.size(), 6u);
  for (size_t i = 0; i < halves.contexts.size(); ++i) {
    const StepContext& ctx = halves.contexts[i];
    EXPECT_TRUE(ctx.training);
    EXPECT_EQ(ctx.seed, options.seed);
    EXPECT_EQ(ctx.step, i / 2 + 1);
    EXPECT_EQ(ctx.batch_offset, i % 2 == 0 ? 0 : 2);
  }
}

TEST(Trainer, StatsReportTheStep) {
  SoftmaxRegression model(kVocab);
  AdamW adam(model.parameters(), adam_options());
  const NoamSchedule schedule(16, 4);
  Trainer trainer(model, adam, schedule);
  ListSource data({uneven_batch()});
  const StepStats s1 = trainer.train_step(data);
  EXPECT_EQ(s1.step, 1);
  EXPECT_DOUBLE_EQ(s1.lr, schedule.lr(1));
  EXPECT_EQ(s1.tokens, 8);
  EXPECT_GT(s1.seconds, 0.0);
  EXPECT_NEAR(s1.tokens_per_second, 8 / s1.seconds, 1e-6 * s1.tokens_per_second);
  EXPECT_EQ(trainer.step(), 1);
  EXPECT_EQ(adam.step_count(), 1);

  // Resume: the step number, the schedule and the optimizer's count move together.
  trainer.set_step(6);
  EXPECT_EQ(adam.step_count(), 6);
  const StepStats s7 = trainer.train_step(data);
  EXPECT_EQ(s7.step, 7);
  EXPECT_DOUBLE_EQ(s7.lr, schedule.lr(7));
  EXPECT_EQ(adam.step_count(), 7);
  EXPECT_EQ(Trainer(model, adam, schedule).step(), 7);
}

TEST(Trainer, NonFiniteLossThrowsAndLeavesParametersAlone) {
  SoftmaxRegression model(kVocab);
  AdamW adam(model.parameters(), adam_options());
  const ConstantSchedule schedule(0.05);
  Trainer trainer(model, adam, schedule);
  ListSource data({uneven_batch()});
  trainer.train_step(data);  // a good step first, so the failing one is step 2

  const std::vector<float> before = testing::parameter_values(model);
  model.nan_loss = true;
  const std::string message = error_of([&] { trainer.train_step(data); });
  EXPECT_NE(message.find("step 2"), std::string::npos) << message;
  EXPECT_NE(message.find("loss"), std::string::npos) << message;
  EXPECT_EQ(testing::parameter_values(model), before);
  EXPECT_EQ(trainer.step(), 1);
  EXPECT_EQ(adam.step_count(), 1);
}

TEST(Trainer, NonFiniteGradientThrowsAndLeavesParametersAlone) {
  SoftmaxRegression model(kVocab);
  AdamW adam(model.parameters(), adam_options());
  const ConstantSchedule schedule(0.05);
  Trainer trainer(model, adam, schedule);
  ListSource data({uneven_batch()});

  const std::vector<float> before = testing::parameter_values(model);
  model.nan_grad = true;
  const std::string message = error_of([&] { trainer.train_step(data); });
  EXPECT_NE(message.find("step 1"), std::string::npos) << message;
  EXPECT_NE(message.find("gradient norm"), std::string::npos) << message;
  EXPECT_EQ(testing::parameter_values(model), before);
  EXPECT_EQ(trainer.step(), 0);
  EXPECT_EQ(adam.step_count(), 0);
}

TEST(Trainer, LossDecreasesOnAFixedBatch) {
  SoftmaxRegression model(kVocab);
  AdamW adam(model.parameters(), adam_options());
  const ConstantSchedule schedule(0.1);
  Trainer trainer(model, adam, schedule);
  ListSource data({uneven_batch()});
  const double first = trainer.train_step(data).loss;
  double last = first;
  for (int i = 0; i < 40; ++i) last = trainer.train_step(data).loss;
  EXPECT_LT(last, 0.25 * first) << "first " << first << ", last " << last;
  EXPECT_LT(trainer.evaluate(data, 1), 0.25 * first);
}

TEST(Trainer, EvaluateIsTheMeanOverCountedTokens) {
  // With W = 0 and b = 0 every logit is equal: the loss of each token is log V.
  SoftmaxRegression model(kVocab);
  model.weight().value.zero();
  model.bias().value.zero();
  AdamW adam(model.parameters(), adam_options());
  const ConstantSchedule schedule(0.1);
  Trainer trainer(model, adam, schedule);
  const Batch full = uneven_batch();
  ListSource data({rows_of(full, 0, 2), rows_of(full, 2, 4)});
  EXPECT_NEAR(trainer.evaluate(data, 2), std::log(5.0), 1e-6);
  ASSERT_EQ(model.contexts.size(), 2u);
  EXPECT_FALSE(model.contexts[0].training);
  EXPECT_EQ(model.contexts[1].batch_offset, 2);
  EXPECT_EQ(testing::parameter_values(model), std::vector<float>(kVocab * kVocab + kVocab, 0.0f));
}

TEST(Trainer, RefusesBatchesWithNothingToLearn) {
  SoftmaxRegression model(kVocab);
  AdamW adam(model.parameters(), adam_options());
  const ConstantSchedule schedule(0.1);
  Trainer trainer(model, adam, schedule);
  ListSource ignored({make_batch({1, 2, 3, 4}, {X, X, X, X}, 2)});
  const std::string message = error_of([&] { trainer.train_step(ignored); });
  EXPECT_NE(message.find("step 1"), std::string::npos) << message;
  EXPECT_NE(message.find("no counted target tokens"), std::string::npos) << message;
  EXPECT_EQ(adam.step_count(), 0);

  // A loader's count of the global batch must agree with what the ranks hold.
  Batch miscounted = uneven_batch();
  miscounted.global_counted = 9;  // the batch holds 8
  ListSource lying({miscounted});
  const std::string wrong = error_of([&] { trainer.train_step(lying); });
  EXPECT_NE(wrong.find("the loader counted 9 target tokens in the global batch, the ranks hold 8"),
            std::string::npos)
      << wrong;
  EXPECT_EQ(adam.step_count(), 0);

  TrainerOptions bad;
  bad.grad_accum = 0;
  EXPECT_NE(error_of([&] { Trainer(model, adam, schedule, bad); }).find("grad_accum"),
            std::string::npos);
}

}  // namespace
}  // namespace weft
