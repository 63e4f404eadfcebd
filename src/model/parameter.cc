#include "weft/model/parameter.h"

#include <cmath>

#include "weft/tensor/counter_rng.h"
#include "weft/backend/elementwise.h"
#include "weft/tensor/error.h"

namespace weft {

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  for (auto& p : params_) out.push_back(p.get());
  for (Module* child : children_) {
    std::vector<Parameter*> sub = child->parameters();
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

void Module::zero_grad() {
  for (Parameter* p : parameters()) p->grad.zero();
}

Parameter& Module::add_parameter(const std::string& local_name, const Shape& full_shape,
                                 const LayerContext& ctx, Init init, double init_std,
                                 bool weight_decay, int shard_dim) {
  auto p = std::make_unique<Parameter>();
  p->name = child_name(local_name);
  p->full_shape = full_shape;
  p->shard_dim = ctx.tp->size() > 1 ? shard_dim : -1;
  p->init = init;
  p->init_std = init_std;
  p->weight_decay = weight_decay;
  Shape local = full_shape;
  if (p->shard_dim >= 0) {
    const int64_t parts = ctx.tp->size();
    WEFT_CHECK(full_shape[shard_dim] % parts == 0, "parameter ", p->name, " dimension ", shard_dim,
               " (", full_shape[shard_dim], ") does not divide into ", parts,
               " tensor-parallel shards");
    local[shard_dim] = full_shape[shard_dim] / parts;
    p->shard_offset = local[shard_dim] * ctx.tp->rank();
  }
  p->value = Tensor::zeros(local, ctx.dtype, ctx.device);
  p->grad = Tensor::zeros(local, grad_dtype(ctx.dtype), ctx.device);
  params_.push_back(std::move(p));
  return *params_.back();
}

namespace {

// Element i of the full tensor for flat local index j of a shard.
int64_t full_index(const Parameter& p, int64_t local_index) {
  if (p.shard_dim < 0) return local_index;
  const Shape& local = p.value.shape();
  int64_t inner = 1;
  for (size_t d = p.shard_dim + 1; d < local.size(); ++d) inner *= local[d];
  const int64_t local_dim = local[p.shard_dim];
  const int64_t outer = local_index / (inner * local_dim);
  const int64_t mid = (local_index / inner) % local_dim;
  const int64_t in = local_index % inner;
  return (outer * p.full_shape[p.shard_dim] + p.shard_offset + mid) * inner + in;
}

}  // namespace

void initialize_parameters(const std::vector<Parameter*>& params, uint64_t seed) {
  for (Parameter* p : params) {
    const int64_t n = p->value.numel();
    std::vector<double> host(static_cast<size_t>(n));
    const uint64_t key = rng::stream_key(seed, rng::hash_name(p->name.c_str()), 0);
    int64_t row_size = 1;
    for (size_t d = 1; d < p->full_shape.size(); ++d) row_size *= p->full_shape[d];
    for (int64_t j = 0; j < n; ++j) {
      switch (p->init) {
        case Init::Zeros: host[j] = 0.0; break;
        case Init::Ones: host[j] = 1.0; break;
        case Init::Normal: {
          // Box-Muller on two draws owned by this element. Its full index
          // does not depend on the padding rows after the real ones.
          const uint64_t i = static_cast<uint64_t>(full_index(*p, j));
          if (p->padded_rows > 0 && static_cast<int64_t>(i) / row_size >= p->real_rows()) {
            host[j] = 0.0;  // a padding row
            break;
          }
          const double u1 = 1.0 - rng::uniform01_double(key, 2 * i);  // (0, 1]
          const double u2 = rng::uniform01_double(key, 2 * i + 1);
          host[j] = p->init_std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
          break;
        }
      }
    }
    Tensor staged = Tensor::empty(p->value.shape(), DType::F64, Device::CPU);
    std::copy(host.begin(), host.end(), staged.data<double>());
    if (p->value.dtype() == DType::F64 && p->value.device() == Device::CPU) {
      p->value.copy_from(staged);
    } else {
      Tensor converted = Tensor::empty(p->value.shape(), p->value.dtype(), Device::CPU);
      ops::convert(staged, converted);
      p->value.copy_from(converted);
    }
    p->grad.zero();
  }
}

Recompute parse_recompute(const std::string& name) {
  for (Recompute r : {Recompute::None, Recompute::Selective, Recompute::Full}) {
    if (name == recompute_name(r)) return r;
  }
  throw Error("recompute must be none, selective or full, got '" + name + "'");
}

const char* recompute_name(Recompute r) {
  switch (r) {
    case Recompute::None: return "none";
    case Recompute::Selective: return "selective";
    case Recompute::Full: return "full";
  }
  return "?";
}

}  // namespace weft
