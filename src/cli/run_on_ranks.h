#pragma once
// Where a training run's ranks come from and whether the model and batch
// split over them: world = dp × tp, from mpirun (one rank per process),
// --parallel.simulate_ranks (threads) or a single rank.

#include <functional>
#include <memory>
#include <string>

#include "cli/run_config.h"
#include "weft/comm/process_groups.h"

namespace weft::cli {

// Throws weft::Error naming the numbers when tp does not divide the world,
// the heads, the feed-forward width or the vocabulary, or dp does not
// divide the micro-batch (data.batch_size / train.grad_accum).
void check_layout(const RunConfig& config, int world_size);

// train.device with `auto` decided: cuda when a GPU is visible and the ranks
// can reach it (one process, or mpirun with NCCL built in), else cpu.
// Simulated ranks share host memory, so they always mean cpu under auto.
std::string resolve_device(const RunConfig& config);

// Runs body(groups) once per rank of the planned world and returns world
// rank 0's result. Collectives time out after config.timeout_s.
int run_on_ranks(const RunConfig& config, const std::function<int(const ProcessGroups&)>& body);

}  // namespace weft::cli
