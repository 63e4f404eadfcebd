// Copying a checkpoint's tensors into a model or an optimizer of any layout.
// Each local tensor is a slice of its full tensor; it is assembled from the
// saved shards that overlap it (checkpoint_reshard.cc). Every name, full
// shape and dtype is checked before the first copy, so a refused restore
// leaves the model or optimizer as it was.

#include <filesystem>
#include <map>
#include <set>

#include "checkpoint/checkpoint_internal.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;

namespace {

// A tensor to fill: its name in the files and the parameter whose layout it
// has (AdamW's moments are split like their parameter).
struct Target {
  std::string name;
  Tensor* tensor = nullptr;
  const Parameter* parameter = nullptr;
  // A distributed optimizer's state: `tensor` is flat and holds `range` of
  // the parameter's local shard.
  bool flat = false;
  ElementRange range;
};

// A saved dtype a target takes: its own, or f32 and bf16 either way (a
// checkpoint of the other precision; bf16 rounds to nearest even).
bool convertible(DType saved, DType target) {
  const auto mixed = [](DType d) { return d == DType::F32 || d == DType::BF16; };
  return saved == target || (mixed(saved) && mixed(target));
}

// The shape without the vocabulary padding rows: what two layouts must agree on.
Shape real_shape(Shape full, int64_t padded_rows) {
  if (!full.empty()) full[0] -= padded_rows;
  return full;
}

Origin local_origin(const Parameter& p) {
  Origin origin(p.full_shape.size(), 0);
  if (p.shard_dim >= 0) origin[p.shard_dim] = p.shard_offset;
  return origin;
}

// The saved shards a target reads: shard 0 for a tensor saved whole, else
// every shard that overlaps the target's slice.
std::vector<int64_t> shards_for(const Target& t, const SavedParameter& saved, int64_t tp) {
  if (saved.shard_dim < 0) return {0};
  std::vector<int64_t> out;
  const Shape shape = shard_shape(saved.full_shape, saved.shard_dim, tp);
  for (int64_t s = 0; s < tp; ++s) {
    if (overlaps(shard_origin(saved.full_shape, saved.shard_dim, s, tp), shape,
                 local_origin(*t.parameter), t.parameter->value.shape())) {
      out.push_back(s);
    }
  }
  return out;
}

// `what` names the owner in messages: "the model", "the optimizer".
class Restore {
 public:
  Restore(const Checkpoint& c, bool optimizer, const char* what)
      : c_(c), optimizer_(optimizer), what_(what) {}

  // `known`: names a saved file may hold beyond the targets (a distributed
  // optimizer's states of parameters this rank owns nothing of).
  // `any_extra`: the files may hold anything else (a model read from the
  // optimizer's masters).
  void run(const std::vector<Target>& targets, const std::vector<std::string>& known = {},
           bool any_extra = false) {
    WEFT_CHECK(static_cast<int64_t>(c_.shards.size()) == c_.tp && c_.tp >= 1, "checkpoint ", c_.dir,
               " lists ", c_.shards.size(), " shards for tp ", c_.tp,
               "; load it with load_checkpoint");
    std::vector<std::vector<int64_t>> reads;
    for (const Target& t : targets) reads.push_back(check(t));
    if (!any_extra) check_no_extra_tensors(targets, known);
    for (size_t i = 0; i < targets.size(); ++i) copy(targets[i], reads[i]);
  }

  // Whether the first shard's file holds `name`, and as what.
  bool holds(const std::string& name) { return file(0).find(name) != nullptr; }
  DType saved_dtype(const std::string& name) { return file(0).at(name).dtype(); }

 private:
  const std::vector<std::string>& parts(int64_t shard) const {
    static const std::vector<std::string> none;
    return optimizer_ ? c_.shards[shard].optimizer_parts : none;
  }
  // For messages about a shard written in parts, its first part.
  const std::string& path(int64_t shard) const {
    if (!parts(shard).empty()) return parts(shard).front();
    return optimizer_ ? c_.shards[shard].optimizer_path : c_.shards[shard].model_path;
  }
  [[noreturn]] void refuse(int64_t shard, const std::string& what) const {
    const std::string& p = path(shard);
    throw Error(fs::path(p).filename().string() + ": " + what + " (" + p + ")");
  }
  const SafetensorsFile& file(int64_t shard) {
    auto it = files_.find(shard);
    if (it == files_.end()) {
      it = files_
               .emplace(shard, parts(shard).empty()
                                   ? load_safetensors(path(shard))
                                   : assemble_optimizer_parts(parts(shard), c_, shard))
               .first;
    }
    return it->second;
  }

  // The saved shards `t` reads, each checked to hold it as the manifest says.
  std::vector<int64_t> check(const Target& t) {
    const Parameter& p = *t.parameter;
    if (file(0).find(t.name) == nullptr) {
      refuse(0, "has no tensor " + t.name + ", which " + what_ + " needs");
    }
    const auto saved = c_.parameters.find(p.name);
    if (saved == c_.parameters.end()) {
      throw Error(c_.dir + "/" + kManifestFile + ": 'parameters' has no entry for " + p.name +
                  ", which " + what_ + " needs");
    }
    if (real_shape(saved->second.full_shape, saved->second.padded_rows) !=
        real_shape(p.full_shape, p.padded_rows)) {
      refuse(0, t.name + " has shape " + shape_str(saved->second.full_shape) + ", " + what_ +
                    " expects " + shape_str(p.full_shape));
    }
    const Shape shape = shard_shape(saved->second.full_shape, saved->second.shard_dim, c_.tp);
    const std::vector<int64_t> shards = shards_for(t, saved->second, c_.tp);
    for (int64_t s : shards) {
      const Tensor* tensor = file(s).find(t.name);
      if (tensor == nullptr) refuse(s, "has no tensor " + t.name + ", which " + what_ + " needs");
      if (tensor->shape() != shape) {
        refuse(s, t.name + " has shape " + shape_str(tensor->shape()) + ", but shard " +
                      std::to_string(s) + " of " + shape_str(saved->second.full_shape) +
                      " split " +
                      std::to_string(c_.tp) + " ways along dimension " +
                      std::to_string(saved->second.shard_dim) + " is " + shape_str(shape));
      }
      if (!convertible(tensor->dtype(), t.tensor->dtype())) {
        refuse(s, t.name + " is " + safetensors_dtype_name(tensor->dtype()) + ", " + what_ +
                      " expects " + safetensors_dtype_name(t.tensor->dtype()));
      }
    }
    return shards;
  }

  void check_no_extra_tensors(const std::vector<Target>& targets,
                              const std::vector<std::string>& known) {
    std::set<std::string> wanted(known.begin(), known.end());
    for (const Target& t : targets) wanted.insert(t.name);
    for (const auto& [shard, f] : files_) {
      for (const auto& [saved_name, tensor] : f.tensors) {
        if (!wanted.count(saved_name)) {
          refuse(shard, "holds " + saved_name + ", which " + what_ + " does not have");
        }
      }
    }
  }

  void copy(const Target& t, const std::vector<int64_t>& shards) {
    const SavedParameter& saved = c_.parameters.at(t.parameter->name);
    // Host staging; zeros for the rows of this layout's vocabulary padding
    // that the saved layout did not have.
    const DType saved_dtype = file(shards.front()).at(t.name).dtype();
    Tensor local = Tensor::zeros(t.parameter->value.shape(), saved_dtype);
    for (int64_t s : shards) {
      copy_overlap(file(s).at(t.name), shard_origin(saved.full_shape, saved.shard_dim, s, c_.tp),
                   local, local_origin(*t.parameter));
    }
    if (t.flat) local = local.view({local.numel()}).rows(t.range.begin, t.range.end);
    if (saved_dtype != t.tensor->dtype()) {  // f32 <-> bf16: a run of the other precision
      Tensor converted = Tensor::empty(local.shape(), t.tensor->dtype());
      ops::convert(local, converted);
      local = converted;
    }
    t.tensor->copy_from(local);
  }

  const Checkpoint& c_;
  bool optimizer_;
  std::string what_;
  std::map<int64_t, SafetensorsFile> files_;  // loaded on first use
};

}  // namespace

// Checkpoints load across precisions: a bf16 run saves bf16 values and f32
// masters, an f32 run f32 values. An f32 model takes a bf16 run's masters
// (its exact weights); a bf16 optimizer without saved masters takes the f32
// values as its masters, and the model rounds them.
void restore_model(Model& model, const Checkpoint& checkpoint) {
  std::vector<Target> targets, from_masters;
  for (Parameter* p : model.parameters()) targets.push_back({p->name, &p->value, p, false, {}});
  Restore model_files(checkpoint, false, "the model");
  model_files.run(targets);
  if (targets.empty()) return;
  const Parameter* first = targets.front().parameter;
  if (first->value.dtype() != DType::F32 || model_files.saved_dtype(first->name) != DType::BF16) {
    return;
  }
  Restore optimizer_files(checkpoint, true, "the model");
  for (Parameter* p : model.parameters()) {
    const std::string master = p->name + ".master";
    if (optimizer_files.holds(master)) from_masters.push_back({master, &p->value, p, false, {}});
  }
  if (!from_masters.empty()) optimizer_files.run(from_masters, {}, /*any_extra=*/true);
}

void restore_optimizer(AdamW& optimizer, const Checkpoint& checkpoint) {
  std::vector<Target> targets, masters;
  for (const NamedTensor& state : optimizer.state_tensors()) {
    WEFT_CHECK(state.parameter != nullptr &&
                   state.name.rfind(state.parameter->name + ".", 0) == 0,
               "restore_optimizer: state tensor ", state.name, " does not name its parameter");
    (state.name.ends_with(".master") ? masters : targets)
        .push_back({state.name, state.tensor, state.parameter, state.flat, state.range});
  }
  // A bf16 run's masters are no state of an f32 optimizer: they were read
  // into the model (restore_model).
  std::vector<std::string> known = optimizer.state_names();
  for (const Parameter* p : optimizer.parameters()) known.push_back(p->name + ".master");
  Restore restore(checkpoint, true, "the optimizer");
  if (!masters.empty() && !restore.holds(masters.front().name)) {
    for (Target& m : masters) m.name = m.parameter->name;  // an f32 run's values
    Restore(checkpoint, false, "the optimizer").run(masters);
  } else {
    targets.insert(targets.end(), masters.begin(), masters.end());
  }
  restore.run(targets, known);
  optimizer.set_step_count(checkpoint.optimizer_step_count);
}

}  // namespace weft
