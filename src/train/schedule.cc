#include "weft/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "weft/tensor/error.h"

namespace weft {

namespace {
void check_step(const char* schedule, int64_t step) {
  WEFT_CHECK(step >= 1, schedule, ": step is 1-based, got ", step);
}
}  // namespace

ConstantSchedule::ConstantSchedule(double lr) : lr_(lr) {
  WEFT_CHECK(lr >= 0.0 && std::isfinite(lr), "constant schedule: lr must be finite and >= 0, got ",
             lr);
}

double ConstantSchedule::lr(int64_t step) const {
  check_step("constant schedule", step);
  return lr_;
}

std::string ConstantSchedule::describe() const {
  return detail::concat("constant(lr=", lr_, ")");
}

NoamSchedule::NoamSchedule(int64_t d_model, int64_t warmup, double factor)
    : d_model_(d_model), warmup_(warmup), factor_(factor) {
  WEFT_CHECK(d_model > 0, "noam schedule: d_model must be > 0, got ", d_model);
  WEFT_CHECK(warmup > 0, "noam schedule: warmup must be > 0, got ", warmup);
  WEFT_CHECK(factor > 0.0 && std::isfinite(factor), "noam schedule: factor must be > 0, got ",
             factor);
}

double NoamSchedule::lr(int64_t step) const {
  check_step("noam schedule", step);
  const double s = static_cast<double>(step);
  const double w = static_cast<double>(warmup_);
  return factor_ / std::sqrt(static_cast<double>(d_model_)) *
         std::min(1.0 / std::sqrt(s), s / (w * std::sqrt(w)));
}

std::string NoamSchedule::describe() const {
  return detail::concat("noam(d_model=", d_model_, ", warmup=", warmup_, ", factor=", factor_, ")");
}

WarmupCosineSchedule::WarmupCosineSchedule(double max_lr, double min_lr, int64_t warmup_steps,
                                           int64_t decay_steps)
    : max_lr_(max_lr), min_lr_(min_lr), warmup_steps_(warmup_steps), decay_steps_(decay_steps) {
  WEFT_CHECK(std::isfinite(max_lr) && max_lr >= 0.0,
             "warmup-cosine schedule: max_lr must be finite and >= 0, got ", max_lr);
  WEFT_CHECK(min_lr >= 0.0 && min_lr <= max_lr,
             "warmup-cosine schedule: min_lr must be in [0, max_lr = ", max_lr, "], got ", min_lr);
  WEFT_CHECK(warmup_steps >= 0, "warmup-cosine schedule: warmup_steps must be >= 0, got ",
             warmup_steps);
  WEFT_CHECK(decay_steps >= warmup_steps,
             "warmup-cosine schedule: decay_steps must be >= warmup_steps = ", warmup_steps,
             ", got ", decay_steps);
}

double WarmupCosineSchedule::lr(int64_t step) const {
  check_step("warmup-cosine schedule", step);
  if (step <= warmup_steps_) {
    return max_lr_ * static_cast<double>(step) / static_cast<double>(warmup_steps_);
  }
  // Past decay_steps (which also covers decay_steps == warmup_steps: no cosine at all).
  if (step >= decay_steps_) return min_lr_;
  const double ratio =
      static_cast<double>(step - warmup_steps_) / static_cast<double>(decay_steps_ - warmup_steps_);
  const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
  return min_lr_ + coeff * (max_lr_ - min_lr_);
}

std::string WarmupCosineSchedule::describe() const {
  return detail::concat("warmup_cosine(max_lr=", max_lr_, ", min_lr=", min_lr_,
                        ", warmup_steps=", warmup_steps_, ", decay_steps=", decay_steps_, ")");
}

}  // namespace weft
