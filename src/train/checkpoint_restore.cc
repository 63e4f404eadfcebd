// Copying a checkpoint's tensors into a model or an optimizer. Every name,
// shape and dtype is checked before the first copy, so a refused restore
// leaves the model or optimizer as it was.

#include <filesystem>
#include <set>

#include "train/checkpoint_internal.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft {

namespace fs = std::filesystem;
using namespace checkpoint;

namespace {

// `what` names the owner in messages: "the model", "the optimizer".
void restore_tensors(const std::string& path, const std::vector<NamedTensor>& targets,
                     const char* what) {
  const SafetensorsFile file = load_safetensors(path);
  const std::string name = fs::path(path).filename().string();
  std::set<std::string> wanted;
  for (const NamedTensor& t : targets) {
    wanted.insert(t.name);
    const Tensor* saved = file.find(t.name);
    if (saved == nullptr) {
      throw Error(name + ": has no tensor " + t.name + ", which " + what + " needs (" + path + ")");
    }
    if (saved->shape() != t.tensor->shape()) {
      throw Error(name + ": " + t.name + " has shape " + shape_str(saved->shape()) + ", " + what +
                  " expects " + shape_str(t.tensor->shape()) + " (" + path + ")");
    }
    if (saved->dtype() != t.tensor->dtype()) {
      throw Error(name + ": " + t.name + " is " + safetensors_dtype_name(saved->dtype()) + ", " +
                  what + " expects " + safetensors_dtype_name(t.tensor->dtype()) + " (" + path +
                  ")");
    }
  }
  for (const auto& [saved_name, tensor] : file.tensors) {
    if (!wanted.count(saved_name)) {
      throw Error(name + ": holds " + saved_name + ", which " + what + " does not have (" + path +
                  ")");
    }
  }
  for (const NamedTensor& t : targets) t.tensor->copy_from(*file.find(t.name));
}

}  // namespace

void restore_model(Model& model, const Checkpoint& checkpoint) {
  std::vector<NamedTensor> targets;
  for (Parameter* p : model.parameters()) {
    if (p->shard_dim >= 0) {
      throw Error("restore_model: parameter " + p->name + " is a tensor-parallel shard; this " +
                  "build restores tp 1 models only");
    }
    targets.push_back({p->name, &p->value});
  }
  restore_tensors(checkpoint.model_path, targets, "the model");
}

void restore_optimizer(AdamW& optimizer, const Checkpoint& checkpoint) {
  restore_tensors(checkpoint.optimizer_path, optimizer.state_tensors(), "the optimizer");
  optimizer.set_step_count(checkpoint.optimizer_step_count);
}

}  // namespace weft
