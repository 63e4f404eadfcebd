#pragma once
// AdamW over a fixed list of parameters. The optimizer owns the first and
// second moment of every parameter (same shape and device as its value) and
// the step counter used for bias correction; all go into checkpoints so that
// a resumed run continues bit for bit.
//
// Mixed precision: for a bf16 parameter the optimizer also keeps an f32
// master copy, and its moments are f32. The update is applied to the master
// and the parameter receives it rounded to bf16, so updates smaller than a
// bf16 step are not lost.
//
// Distributed (ZeRO-1): built with the range of every parameter this
// data-parallel rank owns (zero_owned_ranges), the optimizer keeps moments
// and masters only for those elements, as flat tensors, and updates only
// them; the gradient buckets reduce-scatter the gradients into those ranges
// and all-gather the updated values.

#include <cstdint>
#include <string>
#include <vector>

#include "weft/backend/adamw.h"
#include "weft/model/parameter.h"
#include "weft/train/bucket_plan.h"

namespace weft {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // applied only to parameters with weight_decay = true
  // Throws weft::Error naming the first field out of range.
  void validate() const;
};

// A state tensor with its checkpoint key. `tensor` points into the optimizer:
// a checkpoint loader copies into it (Tensor::copy_from).
struct NamedTensor {
  std::string name;
  Tensor* tensor = nullptr;
  const Parameter* parameter = nullptr;  // whose state it is
  // Distributed: `tensor` is flat and holds these elements of the
  // parameter's (flattened) shard; otherwise it has the parameter's shape.
  bool flat = false;
  ElementRange range;
};

class AdamW {
 public:
  // Throws weft::Error for a null or repeated parameter (a tied weight listed
  // twice would be stepped twice) and for bad options.
  // `owned`, when given, has one range per parameter (possibly empty): the
  // optimizer is distributed and updates only those elements.
  AdamW(std::vector<Parameter*> params, AdamWOptions options = {},
        std::vector<ElementRange> owned = {});

  // One update of every parameter from its grad: increments the step counter,
  // then g = grad_scale · grad (grad_scale carries gradient clipping).
  void step(double lr, double grad_scale = 1.0);

  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps);

  const std::vector<Parameter*>& parameters() const { return params_; }
  const AdamWOptions& options() const { return options_; }
  bool distributed() const { return !owned_.empty(); }
  // Distributed: per parameter, the elements this rank updates.
  const std::vector<ElementRange>& owned() const { return owned_; }
  // sqrt of the global Σ grad² over what this optimizer updates, in double:
  // sharded parameters' sums are added over `tp` and replicated ones count
  // once; distributed, every rank's owned ranges are added over `dp` first.
  double grad_norm(Communicator* tp, Communicator* dp) const;
  // Bytes of moments and masters this rank holds.
  int64_t state_bytes() const;

  // "<param name>.exp_avg" (m) and "<param name>.exp_avg_sq" (v), per
  // parameter in order: torch.optim.AdamW's names for the same tensors; then
  // "<param name>.master" for a parameter with an f32 master copy.
  // Distributed: only parameters with a non-empty owned range, flat.
  std::vector<NamedTensor> state_tensors();
  // The names of every parameter's states, owned or not.
  std::vector<std::string> state_names();

  // Copies every parameter's value into its master copy: after the values
  // were set from outside (initialisation, a loaded model).
  void reload_masters();

 private:
  std::vector<Parameter*> params_;
  AdamWOptions options_;
  std::vector<Tensor> exp_avg_;     // m, one per parameter
  std::vector<Tensor> exp_avg_sq_;  // v, one per parameter
  std::vector<Tensor> master_;      // f32 copy of each bf16 parameter; undefined otherwise
  std::vector<ElementRange> owned_;  // distributed only; one per parameter
  // What adamw_update_many is handed each step; distributed, it points into
  // flat views of the owned ranges, taken afresh each step because the
  // gradient buckets re-point values and gradients into their buffers.
  std::vector<ops::AdamWTensor> update_list_;
  std::vector<Tensor> value_views_, grad_views_;
  // The flat view of `t`'s range `r` (distributed) or `t` itself.
  Tensor owned_view(const Tensor& t, size_t i) const;
  void build_update_list();
  // Parameter i's states, named, whether owned or not.
  std::vector<NamedTensor> states_of(size_t i);
  int64_t step_count_ = 0;
};

}  // namespace weft
