#include "cli/run_on_ranks.h"

#include "weft/backend/gpu.h"
#include "weft/comm/mpi.h"
#include "weft/comm/nccl.h"
#include "weft/comm/simulated.h"
#include "weft/tensor/error.h"

namespace weft::cli {

void check_layout(const RunConfig& c, int world_size) {
  const int64_t tp = c.tp;
  WEFT_CHECK(world_size % tp == 0, "parallel.tp = ", tp, " does not divide the world of ",
             world_size, " ranks: dp = world / tp must be whole");
  const int64_t dp = world_size / tp;
  WEFT_CHECK(c.model.n_heads % tp == 0, "model.n_heads = ", c.model.n_heads,
             " does not divide across parallel.tp = ", tp, " ranks");
  // Each rank holds n_heads/tp query heads and n_kv_heads/tp key/value heads.
  WEFT_CHECK(c.model.kv_heads() % tp == 0, "model.n_kv_heads = ", c.model.kv_heads(),
             " does not divide across parallel.tp = ", tp, " ranks: each rank holds whole ",
             "key/value heads (choose tp dividing ", c.model.kv_heads(), ")");
  WEFT_CHECK(c.model.d_ff % tp == 0, "model.d_ff = ", c.model.d_ff,
             " does not divide across parallel.tp = ", tp, " ranks");
  // Any vocabulary splits: its tables are padded to a multiple of
  // model.vocab_multiple × tp rows (ModelConfig::padded_vocab).
  WEFT_CHECK(!c.sequence_parallel || tp > 1, "parallel.sequence_parallel needs parallel.tp > 1: ",
             "it splits the token rows across the tensor-parallel group (tp = ", tp, ")");
  const int64_t micro = c.batch_size / c.grad_accum;
  // Token budgets split each batch's pairs over the ranks as they come.
  WEFT_CHECK(c.max_tokens > 0 || micro % dp == 0, "the micro-batch of ", micro, " sequences (data.batch_size ",
             c.batch_size, " / train.grad_accum ", c.grad_accum, ") does not divide across dp = ",
             dp, " data-parallel replicas (world ", world_size, " / tp ", tp, ")");
}

std::string resolve_device(const RunConfig& c) {
  if (c.compute.device != "auto") return c.compute.device;
  if (!gpu::available() || c.simulate_ranks > 1) return "cpu";
  if (launched_by_mpi() && !nccl_available()) return "cpu";
  return "cuda";
}

int run_on_ranks(const RunConfig& config, const std::function<int(const ProcessGroups&)>& body) {
  const CommOptions options{config.timeout_s};
  const int tp = static_cast<int>(config.tp);
  const std::string& device = config.compute.device;
  const bool on_gpu = resolve_device(config) == "cuda";
  if (launched_by_mpi()) {
    WEFT_CHECK(config.simulate_ranks <= 1, "parallel.simulate_ranks = ", config.simulate_ranks,
               " cannot be combined with a launch by mpirun: each process is one rank");
    // On GPUs the ranks talk through NCCL, which also gives each process the
    // GPU of its node-local rank before the body starts that GPU.
    if (on_gpu) return body(make_process_groups(make_nccl_world(options), tp));
    return body(make_process_groups(make_mpi_world(options), tp));
  }
  WEFT_CHECK(config.simulate_ranks <= 1 || device != "cuda", "parallel.simulate_ranks runs ",
             "ranks as threads sharing host memory, on the CPU only; launch one process per GPU ",
             "with mpirun (launch/local-gpus.sh) or use --train.device cpu");
  if (config.simulate_ranks <= 1) {
    WEFT_CHECK(tp == 1, "parallel.tp = ", tp, " needs ", tp, " ranks or more: launch with mpirun ",
               "-np N, or simulate them with --parallel.simulate_ranks N");
    return body(single_rank_groups());
  }
  int root_result = 0;
  run_simulated_ranks(
      static_cast<int>(config.simulate_ranks),
      [&](std::shared_ptr<Communicator> world) {
        const ProcessGroups groups = make_process_groups(world, tp);
        const int result = body(groups);
        if (groups.is_root()) root_result = result;
      },
      options);
  return root_result;
}

}  // namespace weft::cli
