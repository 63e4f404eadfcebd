#pragma once
// Parameters and the modules that own them. Every parameter has a stable
// name (the checkpoint key) and knows which slice of the full tensor this
// rank holds, so checkpoints can be merged and re-split across layouts.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/comm/communicator.h"
#include "weft/tensor/tensor.h"

namespace weft {

enum class Init { Zeros, Ones, Normal };

// A parameter gradient's dtype for values of `value`: bf16 values get f32
// gradients (Megatron-LM's main gradients: accumulated across micro-batches,
// reduced over data-parallel ranks and clipped without bf16 rounding).
inline DType grad_dtype(DType value) { return value == DType::BF16 ? DType::F32 : value; }

struct Parameter {
  std::string name;   // full name, e.g. "decoder.layers.0.attn.q.weight"
  Tensor value;       // this rank's shard
  Tensor grad;        // same shape, grad_dtype(value); accumulated (+=) by backward passes
  Shape full_shape;   // the unsharded shape
  int shard_dim = -1;         // dimension split across tensor-parallel ranks; -1: replicated
  int64_t shard_offset = 0;   // first index of this shard along shard_dim
  // Trailing rows of full_shape[0] past the real vocabulary (vocabulary
  // padding, ModelConfig::vocab_multiple): zero, never trained, not exported.
  int64_t padded_rows = 0;
  int64_t real_rows() const { return full_shape.empty() ? 0 : full_shape[0] - padded_rows; }
  bool weight_decay = true;   // false for biases and norm gains
  // Sequence parallelism: each tensor-parallel rank's grad covers only its
  // rows (a layer norm's); the trainer sums it over the group once per step.
  bool sequence_parallel_partial = false;
  Init init = Init::Zeros;
  double init_std = 0.0;      // for Init::Normal

  // Called by a layer each time its backward pass has added to `grad`, so
  // data-parallel gradient buckets can start reducing while backward goes on.
  std::function<void(Parameter&)> on_grad_written;
  void grad_written() {
    if (on_grad_written) on_grad_written(*this);
  }
  // Called by a layer before its forward pass reads `value`, so ZeRO-1's
  // parameter all-gathers (grad_buckets.h) can still be in flight while the
  // forward pass runs the layers before it.
  std::function<void(Parameter&)> on_value_needed;
  void value_needed() {
    if (on_value_needed) on_value_needed(*this);
  }
};

// How layers are built: element type, device, and the tensor-parallel group
// whose ranks share each layer's heads and hidden units.
struct LayerContext {
  DType dtype = DType::F32;
  Device device = Device::CPU;
  std::shared_ptr<Communicator> tp = make_single_rank_communicator();
  // Training under tp > 1: the regions between sublayers hold 1/tp of the
  // token rows (weft/model/sequence_parallel.h).
  bool sequence_parallel = false;
};

struct SequenceShard;

// Activation recompute (train.recompute): what a training forward drops and
// backward recomputes, trading compute for memory. Selective: each
// attention's probabilities (B,H,T,S), recomputed from q and k; full: every
// activation inside a transformer block but its output, the block's forward
// run again before its backward. Recomputation is exact (dropout masks are
// regenerated from their keys): the gradients are bit-identical to None's.
enum class Recompute { None, Selective, Full };
// "none", "selective", "full"; parse_recompute throws weft::Error naming
// the accepted words for anything else.
Recompute parse_recompute(const std::string& name);
const char* recompute_name(Recompute r);

// What a forward pass needs to know about the step it belongs to.
struct StepContext {
  bool training = false;      // dropout on
  uint64_t seed = 0;          // dropout stream
  uint64_t step = 0;
  int64_t batch_offset = 0;   // global index of this micro-batch's first sequence
  Recompute recompute = Recompute::None;  // training only
  // Set by a stack under sequence parallelism for its blocks: the rows the
  // residual regions hold. Null otherwise.
  const SequenceShard* sequence_shard = nullptr;
};

class Module {
 public:
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return name_; }
  // This module's parameters, then its children's, in construction order.
  std::vector<Parameter*> parameters();
  void zero_grad();

 protected:
  // `full_shape` is the unsharded shape; along `shard_dim` this rank holds
  // [offset, offset + local) where local = full / tp size.
  Parameter& add_parameter(const std::string& local_name, const Shape& full_shape,
                           const LayerContext& ctx, Init init, double init_std = 0.0,
                           bool weight_decay = true, int shard_dim = -1);
  void add_child(Module& child) { children_.push_back(&child); }
  std::string child_name(const std::string& local) const {
    return name_.empty() ? local : name_ + "." + local;
  }

 private:
  std::string name_;
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<Module*> children_;
};

// Fills every parameter from its Init, drawing element i of the *full* tensor
// from a stream keyed by (seed, parameter name): the weights are the same
// whatever the tensor-parallel layout.
void initialize_parameters(const std::vector<Parameter*>& params, uint64_t seed);

}  // namespace weft
