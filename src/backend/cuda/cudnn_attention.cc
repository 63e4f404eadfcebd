// cuDNN's fused scaled-dot-product attention for bf16, through
// cudnn-frontend's graph API; the only file that sees the frontend. What it
// declines, and why, is listed in cudnn_attention.h.
//
//   q, out, dq, dout (B,Tq,H,Dh)   k, v, dk, dv (B,Tk,H,Dh)   lse (B,H,Tq) f32
//
// cuDNN sees every operand as (B,H,T,Dh) with strides (T·H·Dh, Dh, H·Dh, 1):
// weft's interleaved heads, read in place with no transpose. Its softmax
// statistics ("Stats", (B,H,Tq,1) f32) are the natural-log log-sum-exp of
// the scaled, masked scores, the same quantity as weft's lse, so lse is
// handed over as is. Masks in weft's convention (query i sees key j when
// j <= i + Tk − Tq and key_valid[b][j]):
//   - causal without padding: bottom-right alignment, right bound 0;
//   - causal with padding: top-left alignment, right bound Tk − Tq. cuDNN
//     aligns a bottom-right diagonal to each sequence's own lengths, which
//     would move it for a padded row; top-left plus the offset does not;
//   - padding: a length per sequence (key_lengths.h), Tq for the queries;
//     the gradients of hidden keys are zeroed after the backward, which
//     weft defines and cuDNN need not write.
// Graphs are built once per shape and kept per thread (building one takes
// milliseconds to seconds; executing it reuses the plan), with the refusal
// message for shapes cuDNN does not support. The scale is a by-value
// operand, so it is no part of the shape. Workspace comes from the arena.

#include "backend/cuda/cudnn_attention.h"

#include <cudnn.h>
#include <cudnn_frontend.h>

#include <cstdint>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/key_lengths.h"
#include "weft/tensor/error.h"

namespace weft::cuda {

namespace fe = cudnn_frontend;

namespace {

// Operand ids of the graphs' variant packs.
enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats, kDout, kDq, kDk, kDv, kScale, kSeqQ, kSeqKv };

struct Shape {
  int64_t B, H, Tq, Tk, Dh;
  bool causal, padded, backward;
  auto tie() const { return std::tie(B, H, Tq, Tk, Dh, causal, padded, backward); }
  bool operator<(const Shape& o) const { return tie() < o.tie(); }
};

// A built graph, or why cuDNN refused the shape.
struct Plan {
  std::shared_ptr<fe::graph::Graph> graph;
  std::string refusal;
  int64_t workspace_bytes = 0;
};

struct State {
  cudnnHandle_t handle = nullptr;
  std::string no_handle;  // why there is none, once creation failed
  std::map<Shape, Plan> plans;
  Tensor workspace;
};

// One per thread: a cuDNN handle must not be used from two threads at once,
// and simulated ranks are threads. Handles are never destroyed: at process
// exit the CUDA context may already be gone.
State& state() {
  thread_local State s;
  return s;
}

const char* cudnn_library(cudnnStatus_t) {
  return "cuDNN";
}

#define WEFT_CUDNN_CALL(op, call)                                                                \
  ::weft::cuda::detail::check_call<cudnnStatus_t>((call), CUDNN_STATUS_SUCCESS,                  \
                                                  cudnnGetErrorString, cudnn_library, op, #call, \
                                                  __FILE__, __LINE__)

cudnnHandle_t handle(std::string* why) {
  State& s = state();
  if (s.handle == nullptr && s.no_handle.empty()) {
    const cudnnStatus_t status = cudnnCreate(&s.handle);
    if (status != CUDNN_STATUS_SUCCESS) {
      s.handle = nullptr;
      s.no_handle = ::weft::detail::concat("cudnnCreate failed: ", cudnnGetErrorString(status),
                                           " (cuDNN ", cudnnGetVersion(), ")");
      std::cerr << "weft: " << s.no_handle << "; bf16 attention runs the SIMT kernels\n";
    }
  }
  if (s.handle == nullptr && why != nullptr) *why = s.no_handle;
  return s.handle;
}

// Operand `uid`, (B,T,H,Dh) seen as (B,H,T,Dh).
fe::graph::Tensor_attributes& as_heads(fe::graph::Tensor_attributes& t, Uid uid, const Shape& sh,
                                       int64_t T) {
  return t.set_uid(uid)
      .set_dim({sh.B, sh.H, T, sh.Dh})
      .set_stride({T * sh.H * sh.Dh, sh.Dh, sh.H * sh.Dh, 1});
}

// The softmax statistics, weft's lse: (B,H,Tq,1) f32.
fe::graph::Tensor_attributes& as_stats(fe::graph::Tensor_attributes& t, const Shape& sh) {
  return t.set_uid(kStats)
      .set_data_type(fe::DataType_t::FLOAT)
      .set_dim({sh.B, sh.H, sh.Tq, 1})
      .set_stride({sh.H * sh.Tq, sh.Tq, 1, 1});
}

// An input in heads layout.
fe::graph::Tensor_attributes heads(const char* name, Uid uid, const Shape& sh, int64_t T) {
  fe::graph::Tensor_attributes t;
  return as_heads(t.set_name(name), uid, sh, T);
}

// An output in heads layout.
void set_heads(const std::shared_ptr<fe::graph::Tensor_attributes>& t, Uid uid, const Shape& sh,
               int64_t T) {
  as_heads(t->set_output(true), uid, sh, T);
}

// Scale, padding and causal mask, alike for the forward and backward
// attributes (see the top of the file for the alignment).
template <typename Attributes>
void set_masks(Attributes& a, fe::graph::Graph& g, const Shape& sh) {
  auto scale = g.tensor(fe::graph::Tensor_attributes()
                            .set_name("scale")
                            .set_uid(kScale)
                            .set_dim({1, 1, 1, 1})
                            .set_stride({1, 1, 1, 1})
                            .set_is_pass_by_value(true)
                            .set_data_type(fe::DataType_t::FLOAT));
  a.set_attn_scale(scale);
  if (sh.padded) {
    auto lengths = [&](const char* name, Uid uid) {
      return g.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({sh.B, 1, 1, 1})
                          .set_stride({1, 1, 1, 1})
                          .set_data_type(fe::DataType_t::INT32));
    };
    a.set_padding_mask(true)
        .set_seq_len_q(lengths("seq_len_q", kSeqQ))
        .set_seq_len_kv(lengths("seq_len_kv", kSeqKv));
  }
  if (sh.causal) {
    if (sh.padded || sh.Tq == sh.Tk) {
      a.set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT)
          .set_diagonal_band_right_bound(static_cast<int>(sh.Tk - sh.Tq));
    } else {
      a.set_diagonal_alignment(fe::DiagonalAlignment_t::BOTTOM_RIGHT)
          .set_diagonal_band_right_bound(0);
    }
  }
}

void define_forward(fe::graph::Graph& g, const Shape& sh) {
  auto q = g.tensor(heads("q", kQ, sh, sh.Tq));
  auto k = g.tensor(heads("k", kK, sh, sh.Tk));
  auto v = g.tensor(heads("v", kV, sh, sh.Tk));
  auto a =
      fe::graph::SDPA_attributes().set_name("flash_attention_forward").set_generate_stats(true);
  set_masks(a, g, sh);
  auto [out, stats] = g.sdpa(q, k, v, a);
  set_heads(out, kO, sh, sh.Tq);
  as_stats(stats->set_output(true), sh);
}

void define_backward(fe::graph::Graph& g, const Shape& sh) {
  auto q = g.tensor(heads("q", kQ, sh, sh.Tq));
  auto k = g.tensor(heads("k", kK, sh, sh.Tk));
  auto v = g.tensor(heads("v", kV, sh, sh.Tk));
  auto out = g.tensor(heads("out", kO, sh, sh.Tq));
  auto dout = g.tensor(heads("dout", kDout, sh, sh.Tq));
  fe::graph::Tensor_attributes lse;
  auto stats = g.tensor(as_stats(lse.set_name("lse"), sh));
  auto a = fe::graph::SDPA_backward_attributes()
               .set_name("flash_attention_backward")
               .set_deterministic_algorithm(true);
  set_masks(a, g, sh);
  auto [dq, dk, dv] = g.sdpa_backward(q, k, v, out, dout, stats, a);
  set_heads(dq, kDq, sh, sh.Tq);
  set_heads(dk, kDk, sh, sh.Tk);
  set_heads(dv, kDv, sh, sh.Tk);
}

Plan build(cudnnHandle_t h, const Shape& sh) {
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_io_data_type(fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  if (sh.backward) {
    define_backward(*g, sh);
  } else {
    define_forward(*g, sh);
  }
  Plan plan;
  auto refused = [&](const char* step, fe::error_t e) {
    plan.refusal = ::weft::detail::concat("cuDNN ", step, ": ", e.get_message());
    return plan;
  };
  if (auto e = g->validate(); e.is_bad()) return refused("validate", e);
  if (auto e = g->build_operation_graph(h); e.is_bad()) return refused("build_operation_graph", e);
  if (auto e = g->create_execution_plans({fe::HeurMode_t::A}); e.is_bad()) {
    return refused("create_execution_plans", e);
  }
  if (auto e = g->check_support(h); e.is_bad()) return refused("check_support", e);
  if (auto e = g->build_plans(h); e.is_bad()) return refused("build_plans", e);
  if (auto e = g->get_workspace_size(plan.workspace_bytes); e.is_bad()) {
    return refused("get_workspace_size", e);
  }
  plan.graph = std::move(g);
  return plan;
}

bool decline(std::string* why, const std::string& reason) {
  if (why != nullptr) *why = reason;
  return false;
}

bool aligned(const Tensor& t) {
  return reinterpret_cast<uintptr_t>(t.raw()) % 16 == 0;
}

// The checks every call makes before a graph is looked up; empty when cuDNN
// may take it.
std::string unsupported(const Tensor& q, const Tensor& k, bool causal,
                        std::initializer_list<const Tensor*> operands) {
  const int64_t Tq = q.dim(1), Tk = k.dim(1), Dh = q.dim(3);
  if (q.dtype() != DType::BF16) return "cuDNN's fused attention is 16-bit only";
  if (q.numel() == 0 || k.numel() == 0) return "no queries or no keys";
  if (Dh % 8 != 0) return ::weft::detail::concat("head dim ", Dh, " is not a multiple of 8");
  if (causal && Tq > Tk) return "causal with Tq > Tk: some queries see no key";
  if (Tq < kCudnnMinQueries) {
    return ::weft::detail::concat("Tq = ", Tq, " is below ", kCudnnMinQueries, " (decode step)");
  }
  for (const Tensor* t : operands) {
    if (!aligned(*t)) return "an operand is not 16-byte aligned";
  }
  return "";
}

// Runs `sh`'s graph with these operands; false (and why) if cuDNN refused the
// shape or the key mask is not lengths. `hidden_keys` (dk, dv) get zero rows
// past each sequence's length.
bool run(const char* op, const Shape& sh, const Tensor& key_valid,
         std::unordered_map<int64_t, void*> pack, float scale, std::string* why,
         std::initializer_list<Tensor*> hidden_keys = {}) {
  cudnnHandle_t h = handle(why);
  if (h == nullptr) return false;
  State& s = state();
  auto found = s.plans.find(sh);
  if (found == s.plans.end()) found = s.plans.emplace(sh, build(h, sh)).first;
  const Plan& plan = found->second;
  if (!plan.graph) return decline(why, plan.refusal);
  KeyLengths lengths{};
  if (sh.padded) {
    lengths = key_lengths(key_valid, sh.Tq);
    if (!lengths.prefix) {
      return decline(why, "key_valid has a row that is not ones then zeros with at least one one");
    }
    pack[kSeqQ] = const_cast<int32_t*>(lengths.q);
    pack[kSeqKv] = const_cast<int32_t*>(lengths.kv);
  }
  pack[kScale] = &scale;
  void* workspace = nullptr;
  if (plan.workspace_bytes > 0) {
    Tensor::ensure(s.workspace, {(plan.workspace_bytes + 3) / 4}, DType::F32, Device::CUDA);
    workspace = s.workspace.raw();
  }
  WEFT_CUDNN_CALL(op, cudnnSetStream(h, stream(op)));
  if (auto e = plan.graph->execute(h, pack, workspace); e.is_bad()) {
    throw Error(::weft::detail::concat("cuda ", op, ": cuDNN execute failed: ", e.get_message()));
  }
  WEFT_LAUNCH_CHECK(op);
  if (sh.padded) {
    for (Tensor* grad : hidden_keys) zero_past_lengths(*grad, lengths.kv);
  }
  return true;
}

void* mut(const Tensor& t) {
  return const_cast<void*>(t.raw());
}

Shape shape_of(const Tensor& q, const Tensor& k, const Tensor& key_valid, bool causal,
               bool backward) {
  return {q.dim(0), q.dim(2), q.dim(1), k.dim(1), q.dim(3), causal, key_valid.defined(), backward};
}

}  // namespace

bool cudnn_attention_built() {
  return true;
}

bool cudnn_flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& key_valid, bool causal, double scale, Tensor& lse,
                                   Tensor& out, std::string* why) {
  if (std::string no = unsupported(q, k, causal, {&q, &k, &v, &out}); !no.empty()) {
    return decline(why, no);
  }
  return run("flash_attention_forward", shape_of(q, k, key_valid, causal, false), key_valid,
             {{kQ, mut(q)}, {kK, mut(k)}, {kV, mut(v)}, {kO, out.raw()}, {kStats, lse.raw()}},
             static_cast<float>(scale), why);
}

bool cudnn_flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& key_valid, bool causal, double scale,
                                    const Tensor& out, const Tensor& lse, const Tensor& dout,
                                    Tensor& dq, Tensor& dk, Tensor& dv, std::string* why) {
  if (std::string no = unsupported(q, k, causal, {&q, &k, &v, &out, &dout, &dq, &dk, &dv});
      !no.empty()) {
    return decline(why, no);
  }
  return run("flash_attention_backward", shape_of(q, k, key_valid, causal, true), key_valid,
             {{kQ, mut(q)},
              {kK, mut(k)},
              {kV, mut(v)},
              {kO, mut(out)},
              {kStats, mut(lse)},
              {kDout, mut(dout)},
              {kDq, dq.raw()},
              {kDk, dk.raw()},
              {kDv, dv.raw()}},
             static_cast<float>(scale), why, {&dk, &dv});
}

}  // namespace weft::cuda
