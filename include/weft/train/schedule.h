#pragma once
// Learning-rate schedules. `step` is the 1-based number of the optimizer step
// about to be taken, so lr(1) is the rate of the very first update.

#include <cstdint>
#include <string>

namespace weft {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(int64_t step) const = 0;
  // One line for the run's effective-config printout, e.g. "noam(d_model=512, ...)".
  virtual std::string describe() const = 0;
};

class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(double lr);
  double lr(int64_t step) const override;
  std::string describe() const override;

 private:
  double lr_;
};

// "Attention Is All You Need", section 5.3:
//   factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5)
// Rises linearly for `warmup` steps, then decays as 1/sqrt(step).
class NoamSchedule : public Schedule {
 public:
  NoamSchedule(int64_t d_model, int64_t warmup, double factor = 1.0);
  double lr(int64_t step) const override;
  std::string describe() const override;

 private:
  int64_t d_model_;
  int64_t warmup_;
  double factor_;
};

// nanoGPT's shape: max_lr · step / warmup_steps up to warmup_steps, then a
// half cosine from max_lr down to min_lr, reached at decay_steps, min_lr after.
class WarmupCosineSchedule : public Schedule {
 public:
  WarmupCosineSchedule(double max_lr, double min_lr, int64_t warmup_steps, int64_t decay_steps);
  double lr(int64_t step) const override;
  std::string describe() const override;

 private:
  double max_lr_;
  double min_lr_;
  int64_t warmup_steps_;
  int64_t decay_steps_;
};

}  // namespace weft
